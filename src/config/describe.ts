import { catalogSection, catalogSetting } from './catalog.js';
import { settingVariableName } from './environment.js';
import type { Origin, SettingLayers } from './layers.js';
import { isSecretSetting, MASK } from './masking.js';

export interface DescribedSetting {
  section: string;
  key: string;
  /** The value, or MASK for a secret. */
  value: string;
  masked: boolean;
  source: DescribedSource;
  /** With `docs`: what the schema says the setting does (none for a client property). */
  description?: string;
  /** With `docs`: the `PIZZA__*` variable that sets it. */
  env?: string;
}

export type DescribedSource =
  | { kind: 'built-in' }
  | { kind: 'file'; file: string; line: number | undefined }
  | { kind: 'env'; variable: string }
  | { kind: 'flag'; flag: string };

/**
 * Every setting in the order of its sections, secrets masked, each with where
 * its value came from; with `docs`, also its description and variable.
 */
export function describeSettings(layers: SettingLayers, options: { docs?: boolean } = {}): DescribedSetting[] {
  const described: DescribedSetting[] = [];
  for (const [section, entries] of layers) {
    for (const [key, { value, origin }] of entries) {
      const masked = isSecretSetting(section, key);
      const setting: DescribedSetting = {
        section,
        key,
        value: masked ? MASK : value,
        masked,
        source: describeSource(origin),
      };
      if (options.docs) {
        const description = catalogSetting(section, key)?.description;
        if (description !== undefined) setting.description = description;
        const env = variableFor(section, key);
        if (env !== undefined) setting.env = env;
      }
      described.push(setting);
    }
  }
  return described;
}

/** What each section is for, from the schema. */
export function sectionDescription(section: string): string | undefined {
  return catalogSection(section)?.description;
}

// A file may hold keys no variable can spell (a space, upper case in a section name): they have none.
function variableFor(section: string, key: string): string | undefined {
  try {
    return settingVariableName(section, key);
  } catch {
    return undefined;
  }
}

function describeSource(origin: Origin): DescribedSource {
  switch (origin.kind) {
    case 'built-in':
      return { kind: 'built-in' };
    case 'file':
      return { kind: 'file', file: origin.source, line: origin.line };
    case 'env':
      return { kind: 'env', variable: origin.source.replace(/^environment variable /, '') };
    case 'flag':
      return { kind: 'flag', flag: origin.source.replace(/^flag /, '') };
  }
}

/** One line's worth: `built-in`, `file /path/client.ini:3`, `env PIZZA__...`, `flag --port`. */
export function sourceLabel(source: DescribedSource): string {
  switch (source.kind) {
    case 'built-in':
      return 'built-in';
    case 'file':
      return source.line === undefined ? `file ${source.file}` : `file ${source.file}:${source.line}`;
    case 'env':
      return `env ${source.variable}`;
    case 'flag':
      return `flag ${source.flag}`;
  }
}
