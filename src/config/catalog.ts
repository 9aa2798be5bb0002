/**
 * The settings the schema declares, read back from it: every section and key
 * with its default, description, hint and environment variable. The built-in
 * defaults, the environment's known keys, secrets and `config:print` all come
 * from here, so a setting is declared once, in the schema.
 */
import type { z } from 'zod';
import { type KnownSettings, settingVariableName } from './environment.js';
import { settingSections } from './schema.js';
import { type SectionMeta, type SettingMeta, sectionRegistry, settingRegistry } from './setting.js';

export interface CatalogSetting extends SettingMeta {
  section: string;
  key: string;
  /** The `PIZZA__*` variable that sets it. */
  env: string;
}

export interface CatalogSection extends SectionMeta {
  section: string;
  /** Empty for an open section, whose keys are the client's. */
  settings: CatalogSetting[];
}

export function settingsCatalog(): CatalogSection[] {
  return Object.entries(settingSections).map(([section, schema]) => {
    const meta = sectionRegistry.get(schema);
    if (!meta) throw new Error(`section [${section}] has no description in the schema`);
    return { section, ...meta, settings: meta.open ? [] : sectionSettings(section, schema) };
  });
}

function sectionSettings(section: string, schema: z.ZodType): CatalogSetting[] {
  const shape = (schema as z.ZodPrefault<z.ZodObject>).unwrap().shape;
  return Object.entries(shape).map(([key, field]) => {
    const meta = settingRegistry.get(field);
    if (!meta) throw new Error(`[${section}] ${key} has no description in the schema`);
    return { section, key, ...meta, env: settingVariableName(section, key) };
  });
}

/** One section's declaration, if the schema has it. */
export function catalogSection(section: string): CatalogSection | undefined {
  return settingsCatalog().find((entry) => entry.section === section);
}

/** One setting's declaration, if the schema has it. */
export function catalogSetting(section: string, key: string): CatalogSetting | undefined {
  return catalogSection(section)?.settings.find((setting) => setting.key === key);
}

/** Every setting that has a default, with it: what pizza runs on with no files at all. */
export function builtInDefaults(): Array<{ section: string; key: string; value: string }> {
  return settingsCatalog().flatMap(({ settings }) =>
    settings.flatMap(({ section, key, default: value }) => (value === undefined ? [] : [{ section, key, value }])),
  );
}

/** What a `PIZZA__*` variable may name: per section its keys, or `'any'` for an open section. */
export function knownSettings(): KnownSettings {
  return new Map(
    settingsCatalog().map(({ section, open, settings }) => [
      section,
      open ? ('any' as const) : new Set(settings.map((setting) => setting.key)),
    ]),
  );
}
