/**
 * The raw Kafka client's ceiling on this machine and broker: the same library
 * and producer settings as the shop's bus (src/adapters/kafka/kafka-bus.ts), the
 * same partition count, and messages the size of the shop's own events, with
 * no shop logic at all.
 */
import { randomBytes } from 'node:crypto';
import pkg, { type KafkaJS as KafkaJSTypes } from '@confluentinc/kafka-javascript';
import { encodeEvent, orderedEvent } from '../../src/domain/events.js';
import { newCustomerId, newOrderId } from '../../src/domain/order.js';
import { PIZZA } from './load.js';

const { KafkaJS } = pkg;

/** The workshop's flow: web → ordered; assemble, bake, deliver each read and write; status reads all four. */
export const PRODUCES_PER_ORDER = 4;
export const CONSUMES_PER_ORDER = 8;

/** What the shop's bus sets on its producer. */
export const CEILING_PRODUCER = {
  partitioner: 'murmur2_random',
  'enable.idempotence': true,
  acks: 'all',
  'linger.ms': 5,
} as const;

export interface KafkaCeilingOptions {
  bootstrapServers: string;
  partitions: number;
  /** Messages to produce, then to read back. */
  messages: number;
  /** Messages per `send()`. */
  sendSize: number;
  /** Sends awaited at once. */
  sendsInFlight: number;
  /** Each half stops after this long even if short of `messages`. */
  maxSecondsEach: number;
}

export interface RateMeasure {
  messages: number;
  seconds: number;
  perSecond: number;
}

export interface KafkaCeiling {
  partitions: number;
  averageMessageBytes: number;
  sendSize: number;
  sendsInFlight: number;
  produce: RateMeasure;
  consume: RateMeasure;
  /** 1 / (4/P + 8/C). */
  ordersPerSecond: number;
}

export function ceilingOrdersPerSecond(producePerSecond: number, consumePerSecond: number): number {
  return 1 / (PRODUCES_PER_ORDER / producePerSecond + CONSUMES_PER_ORDER / consumePerSecond);
}

/** One order's four records, encoded by the shop's own encoder: ordered, assembled, baked, delivered. */
function orderRecords(now: number): Array<{ key: string; value: Buffer }> {
  const orderId = newOrderId();
  const order = { orderId, customerId: newCustomerId(), username: 'bench12', ...PIZZA };
  return [
    encodeEvent(orderedEvent(order, 100, now)),
    encodeEvent({ status: 200, baking_time: 11, timestamp: now + 9 }),
    encodeEvent({ status: 300, timestamp: now + 20 }),
    encodeEvent({ status: 999, timestamp: now + 31 }),
  ].map((value) => ({ key: orderId, value }));
}

export async function measureKafkaCeiling(options: KafkaCeilingOptions): Promise<KafkaCeiling> {
  const kafka = new KafkaJS.Kafka({ kafkaJS: { logLevel: KafkaJS.logLevel.ERROR } as KafkaJSTypes.KafkaConfig });
  const common = { 'bootstrap.servers': options.bootstrapServers };
  const topic = `bench-ceiling-${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin(common as never);
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: options.partitions, replicationFactor: 1 }] });
  } finally {
    await admin.disconnect();
  }

  // A pool of sends, each a run of whole orders, reused round-robin: the sizes are the shop's.
  const now = Date.now();
  const pool = Array.from({ length: 16 }, () =>
    Array.from({ length: Math.ceil(options.sendSize / PRODUCES_PER_ORDER) }, () => orderRecords(now))
      .flat()
      .slice(0, options.sendSize),
  );
  const averageMessageBytes =
    pool.flat().reduce((sum, message) => sum + message.key.length + message.value.length, 0) / pool.flat().length;

  const { rate: produce, onTopic } = await produceAll(kafka, common, topic, pool, options);
  const consume = await consumeAll(kafka, common, topic, onTopic, options.maxSecondsEach);
  return {
    partitions: options.partitions,
    averageMessageBytes,
    sendSize: options.sendSize,
    sendsInFlight: options.sendsInFlight,
    produce,
    consume,
    ordersPerSecond: ceilingOrdersPerSecond(produce.perSecond, consume.perSecond),
  };
}

async function produceAll(
  kafka: KafkaJSTypes.Kafka,
  common: Record<string, string>,
  topic: string,
  pool: ReadonlyArray<Array<{ key: string; value: Buffer }>>,
  options: KafkaCeilingOptions,
): Promise<{ rate: RateMeasure; onTopic: number }> {
  const producer = kafka.producer({ ...common, ...CEILING_PRODUCER } as never);
  await producer.connect();
  try {
    // The first send waits for metadata and the producer id: not part of the rate.
    const warmUp = pool[0] ?? [];
    await producer.send({ topic, messages: warmUp });
    let sent = 0;
    let turn = 0;
    const started = performance.now();
    const deadline = started + options.maxSecondsEach * 1000;
    await Promise.all(
      Array.from({ length: options.sendsInFlight }, async () => {
        while (sent < options.messages && performance.now() < deadline) {
          const messages = pool[turn++ % pool.length] ?? [];
          sent += messages.length;
          await producer.send({ topic, messages });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { rate: { messages: sent, seconds, perSecond: sent / seconds }, onTopic: sent + warmUp.length };
  } finally {
    await producer.disconnect();
  }
}

async function consumeAll(
  kafka: KafkaJSTypes.Kafka,
  common: Record<string, string>,
  topic: string,
  onTopic: number,
  maxSeconds: number,
): Promise<RateMeasure> {
  const consumer = kafka.consumer({
    ...common,
    'group.id': `${topic}-reader`,
    'auto.offset.reset': 'earliest',
  } as never);
  await consumer.connect();
  let total = 0;
  let firstBatchAt = 0;
  let firstBatchSize = 0;
  let lastAt = 0;
  let finish!: () => void;
  const finished = new Promise<void>((done) => {
    finish = done;
  });
  try {
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        // The joining is over once the first batch is here: the rate starts after it.
        if (firstBatchAt === 0) {
          firstBatchAt = performance.now();
          firstBatchSize = batch.messages.length;
        }
        total += batch.messages.length;
        lastAt = performance.now();
        if (total >= onTopic) finish();
      },
    });
    const timeout = setTimeout(finish, maxSeconds * 1000 + 30_000);
    await finished;
    clearTimeout(timeout);
  } finally {
    await consumer.disconnect();
  }
  const messages = total - firstBatchSize;
  const seconds = (lastAt - firstBatchAt) / 1000;
  return { messages, seconds, perSecond: messages / seconds };
}
