/**
 * Kafka clients for the fault suite, on any broker (the suite's, or a trial's
 * own that gets killed): topic admin, a producer that writes exact bytes, and a
 * recorder that keeps every record of a trial's topics for the checks.
 * Built on the library directly, not on src/, so the suite judges the product
 * from outside.
 */
import pkg, { type KafkaJS as KafkaJSTypes } from '@confluentinc/kafka-javascript';

const { KafkaJS } = pkg;

/** The broker's default `message.max.bytes` (1 MiB + 12): the largest record batch it takes. */
export const BROKER_MAX_MESSAGE_BYTES = 1_048_588;

/** For the suite's own clients: the trial judges what the product logs, not its own clients' chatter. */
export const silentLogger: KafkaJSTypes.Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  namespace: () => silentLogger,
  setLogLevel: () => {},
};

function kafka(): KafkaJSTypes.Kafka {
  return new KafkaJS.Kafka({ kafkaJS: { logger: silentLogger } as KafkaJSTypes.KafkaConfig });
}

/** Copies of each topic; on a cluster, also how many must be in sync for a write (`min.insync.replicas`). */
export interface TopicReplication {
  replicationFactor: number;
  minInsyncReplicas?: number;
}

export async function createTopicsOn(
  bootstrap: string,
  names: string[],
  partitions: number,
  replication: TopicReplication = { replicationFactor: 1 },
): Promise<void> {
  const admin = kafka().admin({ 'bootstrap.servers': bootstrap } as never);
  await admin.connect();
  const { replicationFactor, minInsyncReplicas } = replication;
  const configEntries =
    minInsyncReplicas === undefined ? [] : [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }];
  try {
    await admin.createTopics({
      topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor, configEntries })),
    });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopicsOn(bootstrap: string, names: string[]): Promise<void> {
  const admin = kafka().admin({ 'bootstrap.servers': bootstrap } as never);
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const doomed = names.filter((name) => existing.has(name));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
  } finally {
    await admin.disconnect();
  }
}

export interface ProducedRecord {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * A producer as another program would use it: exact bytes, Java-compatible
 * partitioning, and records up to what the broker accepts (librdkafka's own
 * default cap is 1,000,000 bytes, below the broker's).
 */
export async function bytesProducer(bootstrap: string) {
  const producer = kafka().producer({
    'bootstrap.servers': bootstrap,
    partitioner: 'murmur2_random',
    'linger.ms': 0,
    'message.max.bytes': BROKER_MAX_MESSAGE_BYTES,
  } as never);
  await producer.connect();
  return {
    async send(topic: string, key: Buffer | string | null, value: Buffer | string | null): Promise<ProducedRecord> {
      const [report] = await producer.send({ topic, messages: [{ key, value }] });
      if (!report) throw new Error(`no delivery report for ${topic}`);
      return { topic, partition: report.partition, offset: String(report.baseOffset ?? report.offset ?? '-1') };
    },
    disconnect: () => producer.disconnect(),
  };
}

export interface RecordedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** The record's timestamp (when its producer sent it), epoch ms. */
  timestamp: number;
  /** When the recorder saw it, epoch ms. */
  seenAt: number;
}

/**
 * Reads a trial's topics from the start and keeps every record, once each
 * (by topic, partition and offset: a broker restart makes the reader rejoin
 * and read again from the start, since it commits nothing).
 */
export class TopicRecorder {
  private readonly records = new Map<string, RecordedRecord>();
  private readonly byTopic = new Map<string, RecordedRecord[]>();
  private consumer: KafkaJSTypes.Consumer | undefined;

  static async start(bootstrap: string, topics: string[], groupId: string): Promise<TopicRecorder> {
    const recorder = new TopicRecorder();
    const consumer = kafka().consumer({
      'bootstrap.servers': bootstrap,
      'group.id': groupId,
      'auto.offset.reset': 'earliest',
      'enable.auto.commit': false,
      // Poison records are up to the broker's max; the defaults read them, this keeps it explicit.
      'max.partition.fetch.bytes': 2 * BROKER_MAX_MESSAGE_BYTES,
      // The topics were created a moment ago: one the broker's metadata did not list yet when the
      // group formed is only assigned at the next refresh, 5 minutes later by default. Seen: a
      // recorder that saw nothing of a new shop's topics for about 4 minutes while the view had it all.
      'topic.metadata.refresh.interval.ms': 1_000,
    } as never);
    recorder.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const id = `${topic}\u0000${partition}\u0000${message.offset}`;
        if (recorder.records.has(id)) return;
        const headers: Record<string, string> = {};
        for (const [name, raw] of Object.entries(message.headers ?? {})) {
          const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
          if (last !== undefined) headers[name] = last.toString();
        }
        const record: RecordedRecord = {
          topic,
          partition,
          offset: message.offset,
          key: message.key ?? null,
          value: message.value ?? null,
          headers,
          timestamp: Number(message.timestamp),
          seenAt: Date.now(),
        };
        recorder.records.set(id, record);
        let list = recorder.byTopic.get(topic);
        if (!list) {
          list = [];
          recorder.byTopic.set(topic, list);
        }
        list.push(record);
      },
    });
    return recorder;
  }

  topic(name: string): readonly RecordedRecord[] {
    return this.byTopic.get(name) ?? [];
  }

  /** Keys (as UTF-8 text) seen on a topic, with how many records each. */
  keyCounts(topic: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const record of this.topic(topic)) {
      const key = record.key?.toString('utf8') ?? '';
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  /** The partition a key's records landed on in a topic, if any arrived. */
  partitionOf(topic: string, key: string): number | undefined {
    return this.topic(topic).find((record) => record.key?.toString('utf8') === key)?.partition;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => {});
  }
}
