/**
 * Loads the settings: the layers (layers.ts) checked against the schema
 * (schema.ts) once. A mistake becomes one message that names where the value
 * came from, the key and what would be valid, with exit code 2.
 */
import { resolve } from 'node:path';
import type { z } from 'zod';
import { configError } from '../errors.js';
import { catalogSetting } from './catalog.js';
import {
  readLayers,
  type SettingLayers,
  type SettingsFlags,
  type SettingsSources,
  settingFiles,
  where,
} from './layers.js';
import { type Settings, settingsSchema } from './schema.js';

export function loadSettings(flags: SettingsFlags = {}, sources: SettingsSources = {}): Settings {
  const cwd = sources.cwd ?? process.cwd();
  const layers = readLayers(flags, cwd, sources.env ?? {});
  const parsed = settingsSchema.safeParse(schemaInput(layers));
  if (!parsed.success) throw configError(explain(parsed.error.issues[0], layers));
  const settings = parsed.data;
  if (flags.config !== undefined && !settings.kafka) {
    throw configError(
      `${flags.config}: has no [kafka] section. Add one with at least "bootstrap.servers = host:port", or drop --config to run on the embedded bus.`,
    );
  }
  return {
    ...settings,
    shop: {
      ...settings.shop,
      dataDir: resolve(cwd, settings.shop.dataDir),
      logDir: resolve(cwd, settings.shop.logDir),
    },
    files: settingFiles(flags, cwd),
  };
}

/**
 * Every setting with the value that wins and its origin, unchecked (for
 * `config:print`, which checks them with `loadSettings` first).
 */
export function loadSettingLayers(flags: SettingsFlags = {}, sources: SettingsSources = {}): SettingLayers {
  return readLayers(flags, sources.cwd ?? process.cwd(), sources.env ?? {});
}

// The schema applies its own defaults, so it gets only what a file, variable or flag set:
// it can then tell a replication factor nobody chose from one that is 3 by choice.
function schemaInput(layers: SettingLayers): Record<string, Record<string, string>> {
  const input: Record<string, Record<string, string>> = {};
  for (const [section, entries] of layers) {
    for (const [key, { value, origin }] of entries) {
      if (origin.kind === 'built-in') continue;
      input[section] ??= {};
      input[section][key] = value;
    }
  }
  return input;
}

/** The schema's first complaint as a user reads it: where, which key, and what would be valid. */
function explain(issue: z.core.$ZodIssue | undefined, layers: SettingLayers): string {
  const [section, key] = (issue?.path ?? []).map(String);
  const entries = section === undefined ? undefined : layers.get(section);
  const entry = key === undefined ? undefined : entries?.get(key);
  // A key that is missing (bootstrap.servers) is blamed on its section's first line.
  const origin = entry?.origin ?? entries?.values().next().value?.origin;
  if (issue?.code === 'custom') return `${where(origin)}: ${issue.message}.`;
  const hint = section === undefined || key === undefined ? undefined : catalogSetting(section, key)?.hint;
  return `${where(origin)}: [${section}] ${key} = "${entry?.value ?? ''}" is not valid: use ${hint ?? 'a valid value'}.`;
}
