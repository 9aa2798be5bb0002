import { isSecretSetting, MASK } from './masking.js';
import type { Origin, SettingLayers } from './settings.js';

export interface DescribedSetting {
  section: string;
  key: string;
  /** The value, or MASK for a secret. */
  value: string;
  masked: boolean;
  source: DescribedSource;
}

export type DescribedSource =
  | { kind: 'built-in' }
  | { kind: 'file'; file: string; line: number | undefined }
  | { kind: 'env'; variable: string }
  | { kind: 'flag'; flag: string };

/** Every setting in the order of its sections, secrets masked, each with where its value came from. */
export function describeSettings(layers: SettingLayers): DescribedSetting[] {
  const described: DescribedSetting[] = [];
  for (const [section, entries] of layers) {
    for (const [key, { value, origin }] of entries) {
      const masked = isSecretSetting(section, key);
      described.push({ section, key, value: masked ? MASK : value, masked, source: describeSource(origin) });
    }
  }
  return described;
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
