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

/** Creates the topics the report found missing, with the configured partitions and replication factor. */
export async function createMissingTopics(
  admin: KafkaAdmin,
  settings: Settings,
  report: TopicReport,
): Promise<string[]> {
  const missing = [
    ...new Set(
      report.topics
        .filter((topic) => !topic.exists && !(topic.key === 'status' && flinkCreatesStatusTopic(settings)))
        .map((topic) => topic.name),
    ),
  ];
  if (missing.length === 0) return [];
  const { numPartitions, replicationFactor } = settings.topicConfig;
  try {
    await admin.createTopics({
      timeout: ADMIN_TIMEOUT_MS,
      topics: missing.map((topic) => ({
        topic,
        numPartitions,
        replicationFactor,
        ...(topic === settings.topics.logs ? { configEntries: logTopicConfig(settings) } : {}),
      })),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = /replication factor/i.test(reason)
      ? ` The cluster has fewer brokers than replication_factor = ${replicationFactor}: set [kafka-topic-config] replication_factor to at most the number of brokers (1 for a local single broker).`
      : '';
    throw new PizzaError('TOPICS_MISSING', `Could not create ${missing.join(', ')}: ${reason}.${hint}`, {
      cause: error,
    });
  }
  return missing;
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
