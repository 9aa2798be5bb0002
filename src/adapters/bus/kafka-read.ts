import type { KafkaAdmin, KafkaClients } from '../kafka/client.js';
import type { BusRecord } from './bus.js';
import { recordHeaders } from './kafka-subscription.js';

/** How long a whole-topic read may take before it gives up. */
const READ_TIMEOUT_MS = 30_000;

/**
 * Reads every record of a small topic, from the start to the end offsets it
 * had when the read began, with a throwaway consumer that commits nothing.
 * For tools (listing dead letters), not for the roles.
 */
export async function readWholeTopic(clients: KafkaClients, admin: KafkaAdmin, topic: string): Promise<BusRecord[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const remaining = new Map<number, bigint>();
  for (const { partition, high, low } of ends) {
    if (BigInt(high) > BigInt(low)) remaining.set(partition, BigInt(high));
  }
  if (remaining.size === 0) return [];
  const consumer = clients.consumer(
    clients.config(
      {},
      {
        'group.id': `pizza-reader-${process.pid}-${Date.now()}`,
        'enable.auto.commit': false,
        'auto.offset.reset': 'earliest',
        'allow.auto.create.topics': false,
      },
    ),
  );
  const records: BusRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic] });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const end = remaining.get(partition);
        if (end === undefined) return;
        records.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key ? message.key.toString('utf8') : null,
          keyBytes: message.key ?? null,
          value: message.value,
          timestamp: Number(message.timestamp),
          headers: recordHeaders(message.headers),
        });
        if (BigInt(message.offset) + 1n >= end) {
          remaining.delete(partition);
          if (remaining.size === 0) done();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reading ${topic} took longer than ${READ_TIMEOUT_MS / 1000} s`)),
        READ_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([finished, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}
