import type { Settings } from '../../config/settings.js';
import { PizzaError } from '../../errors.js';
import { ADMIN_TIMEOUT_MS, type KafkaAdmin } from './client.js';
import { FLINK_CREATES_IT, isConfluentCloud } from './cluster.js';
import type { TopicReport } from './topics.js';

export interface CreatedTopics {
  created: string[];
  /** Missing topics --create leaves alone, for the Flink statement to create (pizza-status on Confluent Cloud). */
  leftForFlink: string[];
  /** The replication factor used, which may be fitted to a small cluster. */
  replicationFactor: number;
  /** Things the user should know, one line each (a fitted replication factor, a topic left for Flink). */
  notes: string[];
}

/** What topic creation asks of the cluster. */
export interface ClusterProbe {
  /** How many brokers it has, which bounds a replication factor nobody set. */
  brokerCount(): Promise<number>;
  /** Whether it is Confluent Cloud; by default from the settings (confluent_cloud, bootstrap.servers). */
  confluentCloud?: boolean;
}

/**
 * Creates the topics the report found missing, but the one it leaves for
 * Flink, with the configured partitions and replication factor. A factor
 * nobody set (the workshop's 3) stays 3 on Confluent Cloud and is fitted to a
 * cluster with fewer brokers, and says so; a factor the user set is not, and
 * a cluster too small for it is an error that names the factor, the broker
 * count and the setting.
 */
export async function createMissingTopics(
  admin: KafkaAdmin,
  settings: Settings,
  report: TopicReport,
  cluster: ClusterProbe,
): Promise<CreatedTopics> {
  const missing = [
    ...new Set(report.topics.filter((topic) => !topic.exists && !topic.leftForFlink).map((topic) => topic.name)),
  ];
  const leftForFlink = report.topics.filter((topic) => topic.leftForFlink).map((topic) => topic.name);
  const notes = leftForFlink.map(
    (name) =>
      `${name} is left for Flink: ${FLINK_CREATES_IT}. To have --create make it, set [pizza-shop] confluent_cloud = false`,
  );
  const { numPartitions } = settings.topicConfig;
  if (missing.length === 0) {
    return { created: [], leftForFlink, replicationFactor: settings.topicConfig.replicationFactor, notes };
  }
  const { replicationFactor, brokers, note } = await fitReplicationFactor(settings, missing, cluster);
  if (note) notes.unshift(note);
  try {
    await admin.createTopics({
      timeout: ADMIN_TIMEOUT_MS,
      topics: missing.map((topic) => ({
        topic,
        numPartitions,
        replicationFactor,
        ...configEntriesFor(settings, topic),
      })),
    });
  } catch (error) {
    throw new PizzaError('TOPICS_MISSING', explainCreateFailure(error, { replicationFactor, brokers }), {
      cause: error,
    });
  }
  return { created: missing, leftForFlink, replicationFactor, notes };
}

async function fitReplicationFactor(
  settings: Settings,
  missing: string[],
  cluster: ClusterProbe,
): Promise<{ replicationFactor: number; brokers: number; note?: string }> {
  const { replicationFactor, replicationFactorIsDefault } = settings.topicConfig;
  // Confluent Cloud wants 3 replicas, which the default is; its broker list behind a proxy proves nothing.
  if (cluster.confluentCloud ?? isConfluentCloud(settings)) return { replicationFactor, brokers: 0 };
  const brokers = await cluster.brokerCount();
  if (brokers === 0 || brokers >= replicationFactor) return { replicationFactor, brokers };
  const count = `${brokers} broker${brokers === 1 ? '' : 's'}`;
  if (!replicationFactorIsDefault) {
    throw new PizzaError(
      'TOPICS_MISSING',
      `Cannot create ${missing.join(', ')} with replication_factor = ${replicationFactor}: the cluster has ${count}. Set [kafka-topic-config] replication_factor to ${brokers} or less.`,
    );
  }
  return {
    replicationFactor: brokers,
    brokers,
    note: `replication factor ${brokers} instead of the default ${replicationFactor}: the cluster has ${count} (set [kafka-topic-config] replication_factor to choose)`,
  };
}

// Kafka's error codes for what goes wrong when creating topics.
const CREATE_ERRORS: Record<
  number,
  (topic: string, context: { replicationFactor: number; brokers: number }) => string
> = {
  29: (topic) =>
    `${topic}: not authorized to create it. Give the credentials in [kafka] the CREATE permission on topics (Confluent Cloud: an API key with a role that may create topics, such as CloudClusterAdmin), or have an administrator create the topics`,
  31: (topic) =>
    `${topic}: not authorized to create topics on this cluster. Give the credentials in [kafka] the CREATE permission on the cluster, or have an administrator create the topics`,
  36: (topic) =>
    `${topic}: it already exists or is still being deleted. If you deleted it just now, wait until the deletion finishes, then run this again`,
  37: (topic) => `${topic}: the partition count is not valid. Set [kafka-topic-config] num_partitions to 1 or more`,
  38: (topic, { replicationFactor, brokers }) =>
    `${topic}: replication factor ${replicationFactor} is not possible${brokers > 0 ? ` with ${brokers} broker${brokers === 1 ? '' : 's'}` : ''}. Set [kafka-topic-config] replication_factor to at most the number of brokers`,
  40: (topic) => `${topic}: the cluster refused the topic's configuration (retention or cleanup policy)`,
  44: (topic) =>
    `${topic}: the cluster's topic policy refused it. Ask its administrator which partition counts, replication factors and settings it allows, and set [kafka-topic-config] to match`,
};

/** Turns the client's aggregate of per-topic errors into one line per topic, with the cause and the fix. */
export function explainCreateFailure(error: unknown, context: { replicationFactor: number; brokers: number }): string {
  const nested = (error as { errors?: unknown[] } | null)?.errors;
  const failures = Array.isArray(nested) && nested.length > 0 ? nested : [error];
  const lines = failures.map((failure) => {
    const { topic, code, message } = (failure ?? {}) as { topic?: string; code?: number; message?: string };
    const name = topic ?? 'the topics';
    const known = typeof code === 'number' ? CREATE_ERRORS[code] : undefined;
    if (known) return known(name, context);
    if (/marked for deletion/i.test(message ?? '')) return CREATE_ERRORS[36]?.(name, context) ?? '';
    return `${name}: ${message ?? String(failure)}`;
  });
  return `Could not create topics:\n  ${lines.join('\n  ')}`;
}

/**
 * The log topic holds lines for people to read about recent orders: it keeps
 * them for `[pizza-shop] log_topic_retention_hours`, then deletes them.
 */
export function logTopicConfig(settings: Settings): Array<{ name: string; value: string }> {
  return [
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'retention.ms', value: String(Math.round(settings.shop.logTopicRetentionHours * 3_600_000)) },
  ];
}

/**
 * The shop's own small topics get settings of their own; the workshop's
 * topics keep the cluster's defaults.
 */
function configEntriesFor(
  settings: Settings,
  topic: string,
): { configEntries?: Array<{ name: string; value: string }> } {
  if (topic === settings.topics.logs) return { configEntries: logTopicConfig(settings) };
  if (topic === settings.topics.roleStats) {
    // Only the last few seconds are ever read; segments roll hourly so the retention can act.
    return {
      configEntries: [
        { name: 'cleanup.policy', value: 'delete' },
        { name: 'retention.ms', value: '3600000' },
        { name: 'segment.ms', value: '3600000' },
      ],
    };
  }
  if (topic === settings.topics.sessions) {
    // A logout matters until its session would have expired anyway.
    const retentionMs = String(Math.round(settings.shop.sessionHours * 3_600_000));
    return {
      configEntries: [
        { name: 'cleanup.policy', value: 'compact,delete' },
        { name: 'retention.ms', value: retentionMs },
        { name: 'segment.ms', value: retentionMs },
      ],
    };
  }
  if (topic === settings.topics.cancelRequested) {
    // Read whole on every assignment: keep it to the orders' own retention.
    return {
      configEntries: [
        { name: 'cleanup.policy', value: 'delete' },
        { name: 'retention.ms', value: String(Math.round(settings.orders.ordersRetentionHours * 3_600_000)) },
      ],
    };
  }
  return {};
}
