import type { Settings, Topics } from '../../config/settings.js';
import { PizzaError } from '../../errors.js';
import type { KafkaAdmin } from './client.js';

export interface TopicState {
  /** The setting key's role in the shop: ordered, assembled, ... */
  key: keyof Topics;
  name: string;
  exists: boolean;
  partitions: number | undefined;
  replicationFactor: number | undefined;
}

export interface TopicReport {
  topics: TopicState[];
  /** What is missing or wrong, in words; empty when all is well. */
  problems: string[];
}

const TOPIC_KEYS: ReadonlyArray<keyof Topics> = [
  'ordered',
  'assembled',
  'baked',
  'delivered',
  'pending',
  'status',
  'deadLetter',
  'logs',
  'roleStats',
  'sessions',
  'cancelRequested',
  'cancelled',
];
const ADMIN_TIMEOUT_MS = 15_000;

/** Where each topic the roles need stands on the cluster. */
export async function inspectTopics(admin: KafkaAdmin, settings: Settings): Promise<TopicReport> {
  const existing = new Set(await admin.listTopics({ timeout: ADMIN_TIMEOUT_MS }));
  const present = TOPIC_KEYS.map((key) => settings.topics[key]).filter((name) => existing.has(name));
  // Metadata of a missing topic fails the whole request, so only ask for the ones that exist.
  const metadata =
    present.length === 0
      ? []
      : await admin.fetchTopicMetadata({ topics: [...new Set(present)], timeout: ADMIN_TIMEOUT_MS });
  const byName = new Map(metadata.map((topic) => [topic.name, topic]));

  const topics = TOPIC_KEYS.map((key): TopicState => {
    const name = settings.topics[key];
    const found = byName.get(name);
    return {
      key,
      name,
      exists: existing.has(name),
      partitions: found?.partitions.length,
      replicationFactor: found
        ? Math.max(0, ...found.partitions.map((partition) => partition.replicas.length))
        : undefined,
    };
  });

  const problems = topics
    .filter((topic) => !topic.exists)
    .map((topic) =>
      topic.key === 'status' && flinkCreatesStatusTopic(settings)
        ? `${topic.name} does not exist yet: the Flink statements from \`pizza flink:print\` create it on Confluent Cloud`
        : `${topic.name} does not exist`,
    );
  const ordered = topics.find((topic) => topic.key === 'ordered');
  const baked = topics.find((topic) => topic.key === 'baked');
  if (ordered?.partitions !== undefined && baked?.partitions !== undefined && ordered.partitions !== baked.partitions) {
    // Deliver joins the two by order id; with different counts an order's events land on different members.
    problems.push(
      `${ordered.name} has ${ordered.partitions} partitions but ${baked.name} has ${baked.partitions}: deliver joins them by order id, so they need the same count`,
    );
  }
  return { topics, problems };
}

export interface CreatedTopics {
  created: string[];
  /** The replication factor used, which may be fitted to a small cluster. */
  replicationFactor: number;
  /** Things the user should know, one line each (a fitted replication factor). */
  notes: string[];
}

/**
 * Creates the topics the report found missing, with the configured partitions
 * and replication factor. A factor from the built-in defaults (the workshop's
 * 3, for Confluent Cloud) is fitted to a cluster with fewer brokers, and says
 * so; a factor the user set is not, and a cluster too small for it is an
 * error that names the factor, the broker count and the setting.
 */
export async function createMissingTopics(
  admin: KafkaAdmin,
  settings: Settings,
  report: TopicReport,
  cluster: { brokerCount(): Promise<number> },
): Promise<CreatedTopics> {
  const missing = [
    ...new Set(
      report.topics
        .filter((topic) => !topic.exists && !(topic.key === 'status' && flinkCreatesStatusTopic(settings)))
        .map((topic) => topic.name),
    ),
  ];
  const { numPartitions, replicationFactorIsDefault } = settings.topicConfig;
  let { replicationFactor } = settings.topicConfig;
  const notes: string[] = [];
  if (missing.length === 0) return { created: [], replicationFactor, notes };
  const brokers = await cluster.brokerCount();
  if (brokers > 0 && brokers < replicationFactor) {
    if (!replicationFactorIsDefault) {
      throw new PizzaError(
        'TOPICS_MISSING',
        `Cannot create ${missing.join(', ')} with replication_factor = ${replicationFactor}: the cluster has ${brokers} broker${brokers === 1 ? '' : 's'}. Set [kafka-topic-config] replication_factor to ${brokers} or less.`,
      );
    }
    notes.push(
      `replication factor ${brokers} instead of the default ${replicationFactor}: the cluster has ${brokers} broker${brokers === 1 ? '' : 's'} (set [kafka-topic-config] replication_factor to choose)`,
    );
    replicationFactor = brokers;
  }
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
  return { created: missing, replicationFactor, notes };
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

/**
 * On Confluent Cloud every topic is already a table, so a `pizza-status` topic
 * made in advance would make Flink's CREATE TABLE fail: there the Flink
 * statement creates it. Apache Flink's upsert-kafka sink needs it to exist.
 */
export function flinkCreatesStatusTopic(settings: Settings): boolean {
  return /\.confluent\.cloud(:\d+)?(,|$)/.test(settings.kafka?.['bootstrap.servers'] ?? '');
}

/** A role must not start on topics that are not there: it would wait forever, silently. */
export async function requireTopics(admin: KafkaAdmin, topics: string[], settings: Settings): Promise<void> {
  const existing = new Set(await admin.listTopics({ timeout: ADMIN_TIMEOUT_MS }));
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.length === 0) return;
  const config = settings.files.at(-1) ?? 'FILE';
  throw new PizzaError(
    'TOPICS_MISSING',
    `These Kafka topics do not exist: ${missing.join(', ')}. Create them with: pizza topics:check --config ${config} --create`,
  );
}
