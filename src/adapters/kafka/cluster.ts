/**
 * What kind of cluster pizza talks to, as far as topics go: Confluent Cloud,
 * where its Flink creates pizza-status and every topic has 3 replicas, or any
 * other Kafka.
 */
import type { Settings } from '../../config/settings.js';

/** Why --create leaves pizza-status alone on Confluent Cloud, in words. */
export const FLINK_CREATES_IT =
  'on Confluent Cloud the CREATE TABLE statement from `pizza flink:print` creates it (every topic there is already a table, so a topic made in advance would make that statement fail)';

/**
 * Whether the cluster is Confluent Cloud: as `[pizza-shop] confluent_cloud`
 * says, or else from the host names. The bootstrap address may be a private
 * link or a proxy under another name, but the brokers keep advertising their
 * `*.confluent.cloud` names, so pass those when a metadata request gave them.
 */
export function isConfluentCloud(settings: Settings, brokerHosts: readonly string[] = []): boolean {
  const { confluentCloud } = settings.shop;
  if (confluentCloud !== 'auto') return confluentCloud;
  const bootstrap = (settings.kafka?.['bootstrap.servers'] ?? '').split(',').map(hostOf);
  return [...bootstrap, ...brokerHosts].some((host) => /\.confluent\.cloud\.?$/i.test(host));
}

function hostOf(address: string): string {
  // host:port, [v6]:port, or a bare host; a listener name (SASL_SSL://) may come first.
  const withoutScheme = address.trim().replace(/^[a-z_]+:\/\//i, '');
  return withoutScheme.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/:\d+$/, '');
}
