/**
 * Our [kafka] section holds librdkafka properties; Flink's Kafka connector takes
 * Java client properties. Most connection settings share a name, but SASL
 * credentials and CA files are spelled differently, so they are translated here.
 */

/** librdkafka properties that mean the same in the Java client. */
const SAME_NAME = new Set([
  'bootstrap.servers',
  'security.protocol',
  'sasl.mechanism',
  'ssl.endpoint.identification.algorithm',
  'request.timeout.ms',
  'session.timeout.ms',
  'socket.connection.setup.timeout.ms',
  'reconnect.backoff.ms',
  'reconnect.backoff.max.ms',
  'retry.backoff.ms',
  'metadata.max.age.ms',
]);

// Those the translation below reads; no need to mention them as skipped.
const TRANSLATED = new Set(['sasl.mechanisms', 'sasl.username', 'sasl.password', 'ssl.ca.location']);

const LOGIN_MODULES: Record<string, string> = {
  PLAIN: 'org.apache.kafka.common.security.plain.PlainLoginModule',
  'SCRAM-SHA-256': 'org.apache.kafka.common.security.scram.ScramLoginModule',
  'SCRAM-SHA-512': 'org.apache.kafka.common.security.scram.ScramLoginModule',
};

export interface JavaClientProperties {
  /** Java client properties, without the connector's `properties.` prefix. */
  properties: Record<string, string>;
  /** Names of [kafka] properties left out (never their values: they may be secrets). */
  skipped: string[];
}

export function javaClientProperties(librdkafka: Record<string, string>): JavaClientProperties {
  const properties: Record<string, string> = {};
  const skipped: string[] = [];
  for (const [key, value] of Object.entries(librdkafka)) {
    if (SAME_NAME.has(key)) properties[key] = value;
    else if (!TRANSLATED.has(key)) skipped.push(key);
  }
  if (properties['security.protocol']) properties['security.protocol'] = properties['security.protocol'].toUpperCase();
  if (properties['ssl.endpoint.identification.algorithm'] === 'none')
    properties['ssl.endpoint.identification.algorithm'] = '';

  // librdkafka says "mechanisms" (it takes one); Java says "mechanism".
  const mechanism = (librdkafka['sasl.mechanisms'] ?? librdkafka['sasl.mechanism'])?.toUpperCase();
  if (mechanism) properties['sasl.mechanism'] = mechanism;
  const username = librdkafka['sasl.username'];
  const password = librdkafka['sasl.password'];
  if (username !== undefined && password !== undefined) {
    const module = LOGIN_MODULES[mechanism ?? 'PLAIN'];
    if (module) {
      properties['sasl.jaas.config'] =
        `${module} required username=${jaasString(username)} password=${jaasString(password)};`;
    } else {
      skipped.push('sasl.username', 'sasl.password');
    }
  }
  // The Java client reads a PEM CA file directly when told the truststore is PEM.
  const caLocation = librdkafka['ssl.ca.location'];
  if (caLocation) {
    properties['ssl.truststore.type'] = 'PEM';
    properties['ssl.truststore.location'] = caLocation;
  }
  return { properties, skipped };
}

function jaasString(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}
