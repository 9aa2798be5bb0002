import type { Settings } from '../../src/config/settings.js';

/**
 * The settings with the contracts switched as a config file would:
 * `[pizza-shop] value_format`, and a `[schema-registry] url` (or none).
 */
export function withValueFormat(
  settings: Settings,
  valueFormat: 'json' | 'avro',
  registryUrl: string | undefined,
): Settings {
  return {
    ...settings,
    schemaRegistry: registryUrl === undefined ? undefined : { url: registryUrl },
    shop: { ...settings.shop, contracts: { valueFormat, dir: undefined } },
  };
}
