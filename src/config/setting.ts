/**
 * How one setting is declared: its zod type, with its default, its description
 * and the hint a message gives, attached in one call. The schema (schema.ts)
 * is built from these, and everything that lists settings (the built-in
 * defaults, the environment's known keys, secrets, `config:print`) reads them
 * back from its registries rather than from a list of its own.
 */
import { z } from 'zod';
import { iniList } from './ini.js';

export interface SettingMeta {
  /** The value when no file, variable or flag sets it, written as an ini file writes it. */
  default?: string;
  /** What the setting does, for people (`pizza config:print --describe`). */
  description: string;
  /** What a valid value looks like, for messages: `... is not valid: use <hint>.` */
  hint: string;
  /** Printed as **** wherever settings are shown. */
  secret?: boolean;
  /** The command-line flag that also sets it, such as `--port`. */
  flag?: `--${string}`;
}

export interface SectionMeta {
  description: string;
  /** Client properties passed on as they are: any key is taken, none is checked. */
  open?: boolean;
}

export const settingRegistry = z.registry<SettingMeta>();
export const sectionRegistry = z.registry<SectionMeta>();

/** A setting with a default: unset, it parses its default as if a file had written it. */
export function setting<T extends z.ZodType>(type: T, meta: SettingMeta & { default: string }): z.ZodPrefault<T> {
  // The default is ini text like any other value; `prefault` runs it through the same checks.
  const field = type.prefault(meta.default as never);
  settingRegistry.add(field as z.ZodType, meta);
  return field;
}

/** A setting that is simply absent unless set (no default, none printed). */
export function optionalSetting<T extends z.ZodType>(type: T, meta: Omit<SettingMeta, 'default'>): z.ZodOptional<T> {
  const field = type.optional();
  settingRegistry.add(field as z.ZodType, meta);
  return field;
}

/** A section of settings; with nothing set in it, every key takes its default. */
export function section<Shape extends z.ZodRawShape>(shape: Shape, meta: SectionMeta) {
  const schema = z.object(shape).prefault({} as never);
  sectionRegistry.add(schema as z.ZodType, meta);
  return schema;
}

/** A section of client properties, taken as they are (`[kafka]`, `[schema-registry]`). */
export function openSection(meta: Omit<SectionMeta, 'open'>) {
  return z
    .record(z.string(), z.string())
    .optional()
    .register(sectionRegistry, { ...meta, open: true });
}

// The value types the settings share. Values arrive as ini text, so numbers are coerced.
export const positive = z.coerce.number().positive();
export const count = z.coerce.number().int().min(1);
export const name = z.string().trim().min(1);
export const port = z.coerce.number().int().min(0).max(65535);
export const boolean = z.enum(['true', 'false']).transform((value) => value === 'true');

/** A list, one item per indented line (or comma-separated on one line), as the workshop writes its menu. */
export const list = z.string().transform(iniList);

/** A list default as the ini writes it: one item per line. */
export function listDefault(items: readonly string[]): string {
  return items.join('\n');
}
