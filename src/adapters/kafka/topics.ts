import type { Settings, Topics } from '../../config/settings.js';
import { PizzaError } from '../../errors.js';
import { ADMIN_TIMEOUT_MS, type KafkaAdmin } from './client.js';
import { FLINK_CREATES_IT, isConfluentCloud } from './cluster.js';

export { isConfluentCloud } from './cluster.js';

export interface TopicState {
  /** The setting key's role in the shop: ordered, assembled, ... */
  key: keyof Topics;
  name: string;
  exists: boolean;
  partitions: number | undefined;
  replicationFactor: number | undefined;
  /** Missing, and left for the Flink statement to create (pizza-status on Confluent Cloud). */
  leftForFlink: boolean;
}

export interface TopicReport {
  topics: TopicState[];
  /** What is missing or wrong, in words; empty when all is well. */
  problems: string[];
}

/** What the cluster is, as far as topics go. */
export interface ClusterFacts {
  /** Confluent Cloud: its Flink creates pizza-status, and topics need 3 replicas. */
  confluentCloud: boolean;
}

/** Where each topic the roles need stands on the cluster. */
export async function inspectTopics(
  admin: KafkaAdmin,
  settings: Settings,
  cluster: ClusterFacts = { confluentCloud: isConfluentCloud(settings) },
): Promise<TopicReport> {
  // Every topic the settings name, in their order: the workshop's first, then the shop's own.
  const keys = Object.keys(settings.topics) as Array<keyof Topics>;
  const existing = new Set(await admin.listTopics({ timeout: ADMIN_TIMEOUT_MS }));
  const present = keys.map((key) => settings.topics[key]).filter((name) => existing.has(name));
  // Metadata of a missing topic fails the whole request, so only ask for the ones that exist.
  const metadata =
    present.length === 0
      ? []
      : await admin.fetchTopicMetadata({ topics: [...new Set(present)], timeout: ADMIN_TIMEOUT_MS });
  const byName = new Map(metadata.map((topic) => [topic.name, topic]));

  const topics = keys.map((key): TopicState => {
    const name = settings.topics[key];
    const found = byName.get(name);
    const exists = existing.has(name);
    return {
      key,
      name,
      exists,
      partitions: found?.partitions.length,
      replicationFactor: found
        ? Math.max(0, ...found.partitions.map((partition) => partition.replicas.length))
        : undefined,
      leftForFlink: !exists && key === 'status' && cluster.confluentCloud,
    };
  });

  const problems = topics
    .filter((topic) => !topic.exists)
    .map((topic) =>
      topic.leftForFlink
        ? `${topic.name} does not exist yet: ${FLINK_CREATES_IT}. Run them, then check again`
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

/**
 * On Confluent Cloud every topic is already a table, so a `pizza-status` topic
 * made in advance would make Flink's CREATE TABLE fail: there the Flink
 * statement creates it. Apache Flink's upsert-kafka sink needs it to exist.
 */
export function flinkCreatesStatusTopic(settings: Settings, brokerHosts: readonly string[] = []): boolean {
  return isConfluentCloud(settings, brokerHosts);
}

/** A role must not start on topics that are not there: it would wait forever, silently. */
export async function requireTopics(admin: KafkaAdmin, topics: string[], settings: Settings): Promise<void> {
  const existing = new Set(await admin.listTopics({ timeout: ADMIN_TIMEOUT_MS }));
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.length === 0) return;
  const config = settings.files.at(-1) ?? 'FILE';
  const flink = missing.includes(settings.topics.status)
    ? `. ${settings.topics.status} is the Flink job's output: run the statements from \`pizza flink:print\` (on Confluent Cloud they create it; elsewhere --create does)`
    : '';
  throw new PizzaError(
    'TOPICS_MISSING',
    `These Kafka topics do not exist: ${missing.join(', ')}. Create them with: pizza topics:check --config ${config} --create${flink}`,
  );
}
