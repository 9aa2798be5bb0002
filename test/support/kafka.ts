import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { inject, onTestFinished, vi } from 'vitest';
import { KafkaClients, type KafkaProducer } from '../../src/adapters/kafka/client.js';
import type { Settings, SettingsFlags, Topics } from '../../src/config/settings.js';
import './provided.js';
import { testSettings } from './settings.js';

const quiet = pino({ level: 'silent' });

/** The suite's broker; a test that asks for it outside the projects that have one fails, saying where it belongs. */
export function kafkaBootstrap(): string {
  const bootstrap = inject('kafkaBootstrap');
  if (!bootstrap) {
    throw new Error(
      'no Kafka broker in this project: a test that talks to Kafka belongs in the integration tier, on its broker; add its file to KAFKA in vitest.config.ts',
    );
  }
  return bootstrap;
}

/** A name no other test or run uses, so tests never share topics, groups or offsets. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export interface KafkaSettingsOptions {
  partitions?: number;
  flags?: SettingsFlags;
}

/**
 * Settings for Kafka mode on the suite's broker: random topic names and group
 * ids, replication factor 1, the status view fed from the stage topics, and a
 * fresh data dir removed when the test finishes.
 */
export function kafkaTestSettings(options: KafkaSettingsOptions = {}): Settings {
  const { settings, cleanup } = testSettings(options.flags);
  onTestFinished(cleanup);
  const run = randomName('t');
  const topics = Object.fromEntries(
    Object.entries(settings.topics).map(([key, name]) => [key, `${run}-${name}`]),
  ) as unknown as Topics;
  const groupIds = Object.fromEntries(
    Object.entries(settings.groupIds).map(([role, id]) => [role, `${run}-${id}`]),
  ) as Settings['groupIds'];
  return {
    ...settings,
    kafka: { 'bootstrap.servers': kafkaBootstrap() },
    topics,
    groupIds,
    topicConfig: {
      numPartitions: options.partitions ?? settings.topicConfig.numPartitions,
      replicationFactor: 1,
      replicationFactorIsDefault: false,
    },
    shop: { ...settings.shop, statusSource: 'topics' },
  };
}

function clients(): KafkaClients {
  return new KafkaClients({ 'bootstrap.servers': kafkaBootstrap() }, quiet);
}

/** Creates topics on the suite's broker, deleted again when the test finishes. */
export async function createTopics(names: string[], partitions: number): Promise<void> {
  await createTopicsKeptByCaller(names, partitions);
  onTestFinished(() => deleteTopics(names));
}

/** Creates topics whose deletion the caller registers (outside a test, e.g. in a fixture). */
export async function createTopicsKeptByCaller(names: string[], partitions: number): Promise<void> {
  const admin = clients().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    });
    // The broker answers before its metadata lists the new topics; on a busy broker a client
    // asking right away (a bus checking its topics exist) could still be told they are missing.
    await vi.waitFor(
      async () => {
        const listed = new Set(await admin.listTopics());
        const missing = names.filter((name) => !listed.has(name));
        if (missing.length > 0) throw new Error(`created topics not listed yet: ${missing.join(', ')}`);
      },
      { timeout: 30_000, interval: 50 },
    );
  } finally {
    await admin.disconnect();
  }
}

/** Creates every topic the settings name, as `pizza topics:check --create` would. */
export async function createShopTopics(settings: Settings): Promise<void> {
  await createTopics([...new Set(Object.values(settings.topics))], settings.topicConfig.numPartitions);
}

export async function deleteTopics(names: string[]): Promise<void> {
  const admin = clients().admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const doomed = names.filter((name) => existing.has(name));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
  } finally {
    await admin.disconnect();
  }
}

/**
 * A plain producer, as another program (the workshop's Python services) would
 * use: it writes the exact bytes it is given. Disconnected when the test finishes.
 */
export async function rawProducer(): Promise<KafkaProducer> {
  const kafka = clients();
  const producer = kafka.producer(kafka.config({ partitioner: 'murmur2_random', 'linger.ms': 0 }));
  await producer.connect();
  onTestFinished(() => producer.disconnect());
  return producer;
}

/** Reads every record of a topic from the start with a throwaway group, until `count` arrived. */
export async function readTopic(
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<Array<{ key: string; value: Buffer; partition: number }>> {
  const kafka = clients();
  const consumer = kafka.consumer(
    kafka.config(
      {},
      { 'group.id': randomName('reader'), 'auto.offset.reset': 'earliest', 'enable.auto.commit': false },
    ),
  );
  await consumer.connect();
  const records: Array<{ key: string; value: Buffer; partition: number }> = [];
  try {
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({ key: message.key?.toString('utf8') ?? '', value: message.value ?? Buffer.alloc(0), partition });
      },
    });
    await vi.waitFor(
      () => {
        if (records.length < count) throw new Error(`read ${records.length} of ${count} records from ${topic}`);
      },
      { timeout: timeoutMs, interval: 50 },
    );
    return records;
  } finally {
    await consumer.disconnect();
  }
}

/** How many records a topic holds: the sum of its partitions' end offsets (no transactions, so no markers). */
export async function recordCount(topic: string): Promise<number> {
  const admin = clients().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until a consumer group has committed past every record now on `topics`: it has
 * worked on and acknowledged all of them, so whatever it would do with them is done.
 */
export async function waitForGroupCommitted(groupId: string, topics: string[], timeoutMs = 30_000): Promise<void> {
  const admin = clients().admin();
  await admin.connect();
  try {
    const ends = new Map<string, bigint>();
    for (const topic of topics) {
      for (const { partition, high } of await admin.fetchTopicOffsets(topic))
        ends.set(`${topic}:${partition}`, BigInt(high));
    }
    const behind = async (): Promise<string[]> => {
      const committed = new Map<string, bigint>();
      for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics })) {
        for (const { partition, offset } of partitions) committed.set(`${topic}:${partition}`, BigInt(offset));
      }
      return [...ends].filter(([key, end]) => end > 0n && (committed.get(key) ?? -1n) < end).map(([key]) => key);
    };
    await vi.waitFor(
      async () => {
        const lagging = await behind();
        if (lagging.length > 0) throw new Error(`group ${groupId} has not committed the end of ${lagging.join(', ')}`);
      },
      { timeout: timeoutMs, interval: 50 },
    );
  } finally {
    await admin.disconnect();
  }
}
