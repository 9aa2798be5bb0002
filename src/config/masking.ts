/**
 * Which settings are secrets, so that `pizza config:print` (and anything else
 * that shows settings to people) prints them as MASK instead.
 */
import { catalogSection } from './catalog.js';

export const MASK = '****';

// Client properties are open-ended (librdkafka's, Schema Registry's): the schema
// cannot mark them, so they are judged by name, a few well-known ones exactly.
const KNOWN_SECRET_PROPERTIES: Readonly<Record<string, ReadonlySet<string>>> = {
  kafka: new Set(['sasl.password', 'sasl.jaas.config', 'ssl.key.pem', 'sasl.oauthbearer.config']),
  'schema-registry': new Set(['basic.auth.user.info']),
};
const SECRET_PROPERTY = /password|secret|token|key$/i;

export function isSecretSetting(section: string, key: string): boolean {
  const declared = catalogSection(section);
  if (declared?.open) return KNOWN_SECRET_PROPERTIES[section]?.has(key) === true || SECRET_PROPERTY.test(key);
  return declared?.settings.find((setting) => setting.key === key)?.secret === true;
}

export function maskedValue(section: string, key: string, value: string): string {
  return isSecretSetting(section, key) ? MASK : value;
}
