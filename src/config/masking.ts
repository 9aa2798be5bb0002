/**
 * Which settings are secrets, so that `pizza config:print` (and anything else
 * that shows settings to people) prints them as MASK instead.
 */
export const MASK = '****';

const SECRET_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  kafka: new Set(['sasl.password', 'sasl.jaas.config', 'ssl.key.pem', 'sasl.oauthbearer.config']),
  'schema-registry': new Set(['basic.auth.user.info']),
  'pizza-shop': new Set(['session_secret']),
};

// Client properties are open-ended (librdkafka's, Schema Registry's): judge them by name.
const SECRET_PROPERTY = /password|secret|token|key$/i;
const OPEN_ENDED = new Set(['kafka', 'schema-registry']);

export function isSecretSetting(section: string, key: string): boolean {
  if (SECRET_KEYS[section]?.has(key)) return true;
  return OPEN_ENDED.has(section) && SECRET_PROPERTY.test(key);
}

export function maskedValue(section: string, key: string, value: string): string {
  return isSecretSetting(section, key) ? MASK : value;
}
