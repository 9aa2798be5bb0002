/**
 * Where each setting's value comes from. Precedence, highest first: flags,
 * `PIZZA__*` environment variables, --config, --system-config, the built-in
 * defaults (the schema's). Values are not checked here; load.ts does that.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configError } from '../errors.js';
import { builtInDefaults, knownSettings, settingsCatalog } from './catalog.js';
import { readEnvironment, type SettingsEnvironment } from './environment.js';
import { type IniDocument, IniSyntaxError, parseIni } from './ini.js';

/** Options a user can also give as flags; flags win over every file. */
export interface SettingsFlags {
  config?: string | undefined;
  systemConfig?: string | undefined;
  timeScale?: string | undefined;
  capacity?: string | undefined;
  dataDir?: string | undefined;
  logDir?: string | undefined;
  host?: string | undefined;
  port?: string | undefined;
  statusSource?: string | undefined;
  operatorPort?: string | undefined;
}

/** Where a setting's value came from; `source` is how messages name it. */
export interface Origin {
  kind: 'built-in' | 'file' | 'env' | 'flag';
  source: string;
  line?: number;
}
export interface SettingValue {
  value: string;
  origin: Origin;
}
/** Every setting by section and key, each with the value that won and where it came from. */
export type SettingLayers = Map<string, Map<string, SettingValue>>;

/** Where settings come from besides flags: files resolve against `cwd`, `PIZZA__*` variables come from `env`. */
export interface SettingsSources {
  cwd?: string;
  /** The CLI passes `process.env`; nothing else in pizza reads it. */
  env?: SettingsEnvironment;
}

const BUILT_IN = 'built-in defaults';
const PLACEHOLDER = /\{\{.*?\}\}/;

export function readLayers(flags: SettingsFlags, cwd: string, env: SettingsEnvironment): SettingLayers {
  const layers: SettingLayers = new Map();
  for (const { section, key, value } of builtInDefaults()) {
    set(layers, section, key, { value, origin: { kind: 'built-in', source: BUILT_IN } });
  }
  for (const file of [flags.systemConfig, flags.config]) {
    if (file === undefined) continue;
    const path = resolve(cwd, file);
    merge(layers, readDocument(readConfigFile(path), path), { kind: 'file', source: path });
  }
  for (const { section, key, value, variable } of readEnvironment(env, knownSettings())) {
    set(layers, section, key, { value, origin: { kind: 'env', source: `environment variable ${variable}` } });
  }
  applyFlags(layers, flags);
  rejectPlaceholders(layers);
  return layers;
}

/** The files given with --system-config and --config, as absolute paths. */
export function settingFiles(flags: SettingsFlags, cwd: string): string[] {
  return [flags.systemConfig, flags.config].filter((file) => file !== undefined).map((file) => resolve(cwd, file));
}

/** How messages name a value's origin: `file:line`, `environment variable X`, `flag --port`. */
export function where(origin: Origin | undefined): string {
  if (!origin) return 'config';
  return origin.line === undefined ? origin.source : `${origin.source}:${origin.line}`;
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw configError(`Config file ${path} ${reason}. Check the path given with --config or --system-config.`, error);
  }
}

function readDocument(text: string, source: string): IniDocument {
  try {
    return parseIni(text);
  } catch (error) {
    if (error instanceof IniSyntaxError) {
      throw configError(`${source}:${error.line}: ${error.message}. Fix the line or remove it.`);
    }
    throw error;
  }
}

function merge(layers: SettingLayers, document: IniDocument, origin: Omit<Origin, 'line'>): void {
  for (const [section, entries] of document) {
    for (const [key, entry] of entries) {
      set(layers, section, key, { value: entry.value, origin: { ...origin, line: entry.line } });
    }
  }
}

function set(layers: SettingLayers, section: string, key: string, value: SettingValue): void {
  const entries = layers.get(section) ?? new Map<string, SettingValue>();
  entries.set(key, value);
  layers.set(section, entries);
}

// A setting's flag is in its meta (`--time-scale`); SettingsFlags spells it in camel case (`timeScale`).
function applyFlags(layers: SettingLayers, flags: SettingsFlags): void {
  for (const { settings } of settingsCatalog()) {
    for (const { section, key, flag } of settings) {
      const value = flag === undefined ? undefined : flags[camelCase(flag) as keyof SettingsFlags];
      if (value !== undefined) set(layers, section, key, { value, origin: { kind: 'flag', source: `flag ${flag}` } });
    }
  }
  // --capacity is no one setting: it sets every stage's `*_capacity`.
  const capacity = flags.capacity;
  if (capacity === undefined) return;
  for (const { section, key } of settingsCatalog().flatMap((entry) => entry.settings)) {
    if (section !== 'pizza-shop' || !key.endsWith('_capacity')) continue;
    set(layers, section, key, { value: capacity, origin: { kind: 'flag', source: 'flag --capacity' } });
  }
}

function camelCase(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function rejectPlaceholders(layers: SettingLayers): void {
  for (const [section, entries] of layers) {
    for (const [key, entry] of entries) {
      const placeholder = PLACEHOLDER.exec(entry.value)?.[0];
      if (placeholder) {
        throw configError(
          `${where(entry.origin)}: [${section}] ${key} still holds the placeholder ${placeholder}. Replace it with your real value (for Confluent Cloud: the cluster's bootstrap server, API key or API secret).`,
        );
      }
    }
  }
}
