import pkg from '@confluentinc/kafka-javascript';
import type { BusRecord, PartitionOffset, PartitionRange } from '../bus/bus.js';
import type { KafkaAdmin, KafkaClients } from './client.js';
import { partitionKey } from './group/partitions.js';
import { toRecord } from './host-reader.js';

const { KafkaConsumer } = pkg;

/** How long one range read may take before it gives up. */
const READ_TIMEOUT_MS = 60_000;
const OFFSET_BEGINNING = -2;

/**
 * Reads records of chosen partitions, each from an offset (or the first record
 * at or after a time) up to an end offset, with a consumer that joins no group
 * and commits nothing: for restoring state and for tools.
 */
export async function readRanges(
  clients: KafkaClients,
  admin: KafkaAdmin,
  openRanges: readonly PartitionRange[],
): Promise<BusRecord[]> {
  const ranges = await withEnds(admin, openRanges);
  const starts: PartitionOffset[] = [];
  for (const range of ranges) {
    if (BigInt(range.toOffset) <= 0n) continue;
    let from = range.fromOffset ?? String(OFFSET_BEGINNING);
    if (range.fromTimestamp !== undefined) {
      const byTime = await admin.fetchTopicOffsetsByTimestamp(range.topic, range.fromTimestamp);
      const found = byTime.find((entry) => entry.partition === range.partition);
      // -1: nothing at or after that time, so nothing to read before the end.
      from = found && found.offset !== '-1' ? found.offset : range.toOffset;
    }
    if (from !== String(OFFSET_BEGINNING) && BigInt(from) >= BigInt(range.toOffset)) continue;
    starts.push({ topic: range.topic, partition: range.partition, offset: from });
  }
  if (starts.length === 0) return [];
  const ends = new Map(ranges.map((range) => [partitionKey(range.topic, range.partition), BigInt(range.toOffset)]));

  const consumer = new KafkaConsumer(
    {
      ...(clients.config({}) as Record<string, string | number | boolean>),
      'group.id': `pizza-reader-${process.pid}`,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
    } as never,
    {},
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 15_000 }, (err) => (err ? reject(err) : resolve())),
  );
  const records: BusRecord[] = [];
  try {
    consumer.assign(
      starts.map((start) => ({ topic: start.topic, partition: start.partition, offset: Number(start.offset) })),
    );
    const open = new Set(starts.map((start) => partitionKey(start.topic, start.partition)));
    const deadline = Date.now() + READ_TIMEOUT_MS;
    while (open.size > 0) {
      if (Date.now() > deadline) throw new Error(`reading ${[...open].join(', ')} took too long`);
      const batch = await new Promise<pkg.Message[]>((resolve, reject) =>
        consumer.consume(500, (err, messages) => (err ? reject(err) : resolve(messages))),
      );
      for (const message of batch) {
        const key = partitionKey(message.topic, message.partition);
        const end = ends.get(key);
        if (end === undefined || !open.has(key)) continue;
        if (BigInt(message.offset) < end) records.push(toRecord(message));
        if (BigInt(message.offset) + 1n >= end) open.delete(key);
      }
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  return records.sort(
    (a, b) =>
      a.topic.localeCompare(b.topic) || a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)),
  );
}

/** The ranges, each with an end: a range that has none ends where its partition ends now. */
async function withEnds(
  admin: KafkaAdmin,
  ranges: readonly PartitionRange[],
): Promise<Array<PartitionRange & { toOffset: string }>> {
  const ends = new Map<string, string>();
  for (const topic of new Set(ranges.filter((range) => range.toOffset === undefined).map((range) => range.topic))) {
    for (const { partition, high } of await admin.fetchTopicOffsets(topic))
      ends.set(partitionKey(topic, partition), high);
  }
  return ranges.map((range) => ({
    ...range,
    toOffset: range.toOffset ?? ends.get(partitionKey(range.topic, range.partition)) ?? '0',
  }));
}

/** Every record of a small topic, up to the end it had when the read began. */
export async function readWholeTopic(clients: KafkaClients, admin: KafkaAdmin, topic: string): Promise<BusRecord[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return readRanges(
    clients,
    admin,
    offsets
      .filter(({ high, low }) => BigInt(high) > BigInt(low))
      .map(({ partition, high }) => ({ topic, partition, toOffset: high })),
  );
}
