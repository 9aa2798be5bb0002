/**
 * Settings from environment variables, for containers and CI where a file is
 * awkward and secrets arrive as variables. One variable holds one setting:
 *
 *     PIZZA__<SECTION>__<KEY>=value
 *
 * `__` separates the prefix, the section and the key. Section and key are the
 * names of the ini files, written in upper case (pizza's names are all lower
 * case; letters are folded back on reading). Inside a name, letters and digits
 * stay, and the three other characters a name may hold are written:
 *
 *     -  as  _2D_      (its ASCII code in hex, between underscores)
 *     .  as  _2E_
 *     _  as  _        (or _5F_ where a plain _ would be misread: at either end
 *                      of a name, next to another _, or before 2D, 2E or 5F)
 *
 * so `[kafka] sasl.password` is PIZZA__KAFKA__SASL_2E_PASSWORD and
 * `[pizza-shop] session_secret` is PIZZA__PIZZA_2D_SHOP__SESSION_SECRET.
 * Reading goes left to right: `_2D_`, `_2E_` or `_5F_` is that character, `__`
 * ends a name, any other `_` is itself. Every name has exactly one spelling,
 * and every variable one meaning.
 */
import { configError } from '../errors.js';

/** The variables to read settings from: `process.env` in the CLI, a plain object in tests. */
export type SettingsEnvironment = Readonly<Record<string, string | undefined>>;

export const ENV_PREFIX = 'PIZZA__';
const SEPARATOR = '__';
const ESCAPES: Readonly<Record<string, string>> = { '-': '_2D_', '.': '_2E_', _: '_5F_' };
const UNESCAPES: Readonly<Record<string, string>> = { _2D_: '-', _2E_: '.', _5F_: '_' };
const NAME = /^[a-z0-9._-]+$/;

/** The variable that carries `[section] key`. Throws for a name no variable can spell. */
export function settingVariableName(section: string, key: string): string {
  return `${ENV_PREFIX}${encodeName(section)}${SEPARATOR}${encodeName(key)}`;
}

/** The `[section] key` a variable carries, or a reason it carries none. */
export function parseSettingVariableName(variable: string): { section: string; key: string } | { problem: string } {
  if (!variable.startsWith(ENV_PREFIX)) return { problem: `does not start with ${ENV_PREFIX}` };
  const text = variable.slice(ENV_PREFIX.length).toUpperCase();
  const names: string[] = [''];
  for (let index = 0; index < text.length; ) {
    const char = text[index] as string;
    const escaped = UNESCAPES[text.slice(index, index + 4)];
    if (escaped !== undefined) {
      names[names.length - 1] += escaped;
      index += 4;
    } else if (text.startsWith(SEPARATOR, index)) {
      names.push('');
      index += SEPARATOR.length;
    } else if (/[A-Z0-9_]/.test(char)) {
      names[names.length - 1] += char.toLowerCase();
      index += 1;
    } else {
      return { problem: `holds "${char}": use letters, digits and _ only` };
    }
  }
  if (names.length !== 2) return { problem: `does not name one section and one key (${ENV_PREFIX}<SECTION>__<KEY>)` };
  const [section = '', key = ''] = names;
  if (section === '' || key === '') return { problem: `has an empty ${section === '' ? 'section' : 'key'}` };
  return { section, key };
}

function encodeName(name: string): string {
  if (!NAME.test(name)) {
    throw new Error(`"${name}" cannot be written as an environment variable: use a-z, 0-9, ".", "-" and "_"`);
  }
  let encoded = '';
  for (let index = 0; index < name.length; index += 1) {
    const char = name[index] as string;
    if (char === '_' && plainUnderscoreIsSafe(name, index)) encoded += '_';
    else encoded += ESCAPES[char] ?? char.toUpperCase();
  }
  return encoded;
}

// A plain _ is read back as itself only between two letters or digits, and not
// where it and the next three characters would read as an escape.
function plainUnderscoreIsSafe(name: string, index: number): boolean {
  const alnum = (char: string | undefined) => char !== undefined && /[a-z0-9]/.test(char);
  if (!alnum(name[index - 1]) || !alnum(name[index + 1])) return false;
  const looksLikeEscape = /^(2d|2e|5f)(?![a-z0-9])/.test(name.slice(index + 1));
  return !looksLikeEscape;
}

export interface EnvironmentSetting {
  section: string;
  key: string;
  value: string;
  variable: string;
}

/**
 * What pizza knows, to turn a misspelt variable into an error rather than a
 * setting silently ignored: per section, its keys, or `'any'` for sections of
 * open-ended properties such as [kafka].
 */
export type KnownSettings = ReadonlyMap<string, ReadonlySet<string> | 'any'>;

/** The settings carried by `PIZZA__*` variables, checked against what pizza reads. */
export function readEnvironment(env: SettingsEnvironment, known: KnownSettings): EnvironmentSetting[] {
  const settings: EnvironmentSetting[] = [];
  for (const variable of Object.keys(env).sort()) {
    const value = env[variable];
    if (!variable.startsWith(ENV_PREFIX) || value === undefined) continue;
    const parsed = parseSettingVariableName(variable);
    if ('problem' in parsed) {
      throw configError(`environment variable ${variable} ${parsed.problem}. ${NAMING_HINT}`);
    }
    const keys = known.get(parsed.section);
    if (keys === undefined) {
      throw configError(
        `environment variable ${variable}: pizza reads no section [${parsed.section}].${suggestion(parsed.section, [...known.keys()], (name) => `[${name}] (${settingVariableName(name, parsed.key)})`)} ${NAMING_HINT}`,
      );
    }
    if (keys !== 'any' && !keys.has(parsed.key)) {
      throw configError(
        `environment variable ${variable}: [${parsed.section}] has no key ${parsed.key}.${suggestion(parsed.key, [...keys], (name) => `${name} (${settingVariableName(parsed.section, name)})`)} ${NAMING_HINT}`,
      );
    }
    settings.push({ ...parsed, value: value.trim(), variable });
  }
  return settings;
}

const NAMING_HINT = 'In a variable name write - as _2D_ and . as _2E_, e.g. PIZZA__PIZZA_2D_SHOP__PORT.';

// Names that differ only in how -, . and _ are written are what people get wrong.
function suggestion(name: string, candidates: string[], show: (candidate: string) => string): string {
  const fold = (text: string) => text.replace(/[-._]/g, '');
  const match = candidates.find((candidate) => fold(candidate) === fold(name));
  return match === undefined ? '' : ` Did you mean ${show(match)}?`;
}
