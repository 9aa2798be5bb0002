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

// flink-sql-connector-kafka, the jar a Flink SQL client is given, bundles the Kafka
// client relocated under this package (its maven-shade-plugin relocation of org.apache.kafka).
const SHADED_KAFKA_PACKAGE = 'org.apache.flink.kafka.shaded.org.apache.kafka.';

/**
 * What to tell a reader of a JAAS line that names an unshaded Kafka login module:
 * the class has another name inside the SQL client's shaded connector jar.
 * Undefined when the line names no such class.
 */
export function shadedLoginModuleNote(jaasConfig: string): string | undefined {
  const module = /^org\.apache\.kafka\.[\w.]+/.exec(jaasConfig)?.[0];
  if (!module) return undefined;
  const shaded = `${SHADED_KAFKA_PACKAGE}${module.slice('org.apache.kafka.'.length)}`;
  return `with the SQL client's shaded connector jar (flink-sql-connector-kafka) the class is ${shaded}`;
}

function jaasString(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}
