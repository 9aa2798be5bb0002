/**
 * Pizza's settings: what the rest of the code imports. The schema (schema.ts,
 * with the sections in shop-settings.ts, statuses.ts and menu.ts) declares
 * every setting once; layers.ts reads files, variables and flags; load.ts
 * checks them against the schema.
 */
export type { Origin, SettingLayers, SettingsFlags, SettingsSources, SettingValue } from './layers.js';
export { loadSettingLayers, loadSettings } from './load.js';
export type { RoleName, Settings, StageRole, StatusSource, Topics } from './schema.js';
