/**
 * A reader for the ini dialect of Python's configparser, which the workshop's
 * files are written in: `key = value` or `key: value`, `#`/`;` comment lines,
 * option names folded to lower case, and values continued on indented lines
 * (how the workshop writes its menu lists).
 */
import { PizzaError } from '../errors.js';

export interface IniEntry {
  value: string;
  line: number;
}
export type IniSection = Map<string, IniEntry>;
export type IniDocument = Map<string, IniSection>;

/** A line that is not ini; config loading turns it into a CONFIG error that names the file. */
export class IniSyntaxError extends PizzaError {
  override readonly name = 'IniSyntaxError';

  constructor(
    readonly line: number,
    message: string,
  ) {
    super('INI_SYNTAX', message);
  }
}

export function parseIni(text: string): IniDocument {
  const document: IniDocument = new Map();
  let section: IniSection | undefined;
  let lastEntry: IniEntry | undefined;
  const lines = text.split(/\r?\n/);

  lines.forEach((raw, index) => {
    const lineNumber = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) {
      // A blank line inside a multi-line value does not end it in configparser,
      // but the workshop's files never rely on that; ending it is safer.
      if (trimmed === '') lastEntry = undefined;
      return;
    }
    if (/^\s/.test(raw) && lastEntry) {
      lastEntry.value = lastEntry.value === '' ? trimmed : `${lastEntry.value}\n${trimmed}`;
      return;
    }
    const header = /^\[([^\]]+)\]$/.exec(trimmed);
    if (header?.[1]) {
      const name = header[1].trim();
      section = document.get(name) ?? new Map();
      document.set(name, section);
      lastEntry = undefined;
      return;
    }
    const assignment = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(trimmed);
    if (!assignment?.[1]) {
      throw new IniSyntaxError(lineNumber, `line ${lineNumber} is neither "[section]" nor "key = value"`);
    }
    if (!section) {
      throw new IniSyntaxError(lineNumber, `line ${lineNumber} sets "${assignment[1]}" before any [section]`);
    }
    lastEntry = { value: (assignment[2] ?? '').trim(), line: lineNumber };
    section.set(assignment[1].trim().toLowerCase(), lastEntry);
  });
  return document;
}

/** Splits a multi-line (or comma-separated single-line) value into items. */
export function iniList(value: string): string[] {
  const separator = value.includes('\n') ? '\n' : ',';
  return value
    .split(separator)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
