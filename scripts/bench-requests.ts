/**
 * What per-turn produce and the adaptive fetch wait buy, on a real broker
 * (issue 18): `npx tsx scripts/bench-requests.ts`.
 *
 * (a) Produce N messages (default 20,000) from 128 concurrent "handlers", each
 *     awaiting its publish before the next, as roles do: one KafkaJS `send` per
 *     message (the shop today), then through the TurnProducer. Reports CPU ms per
 *     message of this process (all threads), produce requests (librdkafka
 *     statistics, brokers[*].req.Produce) and messages/s.
 * (b) Consume a steady flow (1,000/s and 20/s): today's consumer (eachMessage,
 *     librdkafka's fetch defaults but 1 MiB of queue) against eachBatch with a
 *     small `queued.min.messages`, a small `fetch.queue.backoff.ms` and the
 *     FetchPacer's holds. Reports fetch requests/s (req.Fetch), CPU ms per
 *     message, and produce-to-consume latency p50/p99.
 *
 * Env: BENCH_MESSAGES, BENCH_SECONDS (per consume run at 1,000/s; 20/s runs twice as long).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pkg, { type KafkaJS as KafkaJSTypes } from '@confluentinc/kafka-javascript';
import { FetchPacer } from '../src/adapters/kafka/fetch-pacer.js';
import {
  afterMicrotasks,
  afterTurn,
  type NativeProducer,
  produceEach,
  TurnProducer,
  type TurnScheduler,
} from '../src/adapters/kafka/turn-producer.js';
import { startKafkaBroker } from '../tools/kafka/broker.js';

const { KafkaJS } = pkg;
const PARTITIONS = 4;
const HANDLERS = 128;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const VALUE = Buffer.alloc(180, 'x');

const kafka = new KafkaJS.Kafka({ kafkaJS: { logLevel: KafkaJS.logLevel.ERROR } as KafkaJSTypes.KafkaConfig });

/** The latest librdkafka statistics of one client, summed over its brokers. */
class Stats {
  private latest: { ts: number; produce: number; fetch: number } | undefined;
  private waiters: Array<() => void> = [];
  readonly callback = (event: { message?: string } | string) => {
    const json = JSON.parse(typeof event === 'string' ? event : (event.message ?? '{}'));
    let produce = 0;
    let fetch = 0;
    for (const broker of Object.values<{ req?: Record<string, number> }>(json.brokers ?? {})) {
      produce += broker.req?.Produce ?? 0;
      fetch += broker.req?.Fetch ?? 0;
    }
    this.latest = { ts: json.ts / 1000, produce, fetch };
    for (const wake of this.waiters.splice(0)) wake();
  };
  /** The next statistics event, so counters read after this point include everything before it. */
  async next(): Promise<{ ts: number; produce: number; fetch: number }> {
    await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (!this.latest) throw new Error('no statistics');
    return this.latest;
  }
}

const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function createTopic(bootstrap: string): Promise<string> {
  const topic = `bench-requests-${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin({ 'bootstrap.servers': bootstrap } as never);
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] });
  await admin.disconnect();
  return topic;
}

function producerConfig(bootstrap: string, stats: Stats, lingerMs: number) {
  return {
    'bootstrap.servers': bootstrap,
    partitioner: 'murmur2_random',
    'enable.idempotence': true,
    acks: 'all',
    'linger.ms': lingerMs,
    'statistics.interval.ms': 100,
    stats_cb: stats.callback,
  };
}

type Publish = (key: string) => Promise<unknown>;

interface ProduceResult {
  mode: string;
  cpuMsPerMessage: number;
  produceRequests: number;
  messagesPerRequest: number;
  perSecond: number;
  sends: number;
}

async function produceRun(
  bootstrap: string,
  mode: string,
  lingerMs: number,
  make: (producer: KafkaJSTypes.Producer, topic: string) => { publish: Publish; sends(): number },
): Promise<ProduceResult> {
  const topic = await createTopic(bootstrap);
  const stats = new Stats();
  const producer = kafka.producer(producerConfig(bootstrap, stats, lingerMs) as never);
  await producer.connect();
  const { publish, sends } = make(producer, topic);
  // Warm up the connection and the partitions' leaders.
  await Promise.all(Array.from({ length: 200 }, (_, i) => publish(`warm-${i}`)));
  const before = await stats.next();
  const sendsBefore = sends();
  const cpuBefore = cpuMs();
  const started = performance.now();
  let next = 0;
  const handler = async () => {
    while (next < MESSAGES) {
      next += 1;
      await publish(`order-${next}`);
    }
  };
  await Promise.all(Array.from({ length: HANDLERS }, handler));
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuMs() - cpuBefore;
  const after = await stats.next();
  await producer.disconnect();
  const produceRequests = after.produce - before.produce;
  return {
    mode,
    cpuMsPerMessage: cpu / MESSAGES,
    produceRequests,
    messagesPerRequest: MESSAGES / produceRequests,
    perSecond: MESSAGES / seconds,
    sends: sends() - sendsBefore,
  };
}

function today(producer: KafkaJSTypes.Producer, topic: string) {
  let count = 0;
  return {
    publish: (key: string) => {
      count += 1;
      return producer.send({ topic, messages: [{ key, value: VALUE }] });
    },
    sends: () => count,
  };
}

function turns(schedule: TurnScheduler) {
  return (producer: KafkaJSTypes.Producer, topic: string) => {
    const native = (producer as unknown as { _getInternalClient(): NativeProducer })._getInternalClient();
    const turnProducer = new TurnProducer({ send: produceEach(native), schedule });
    return {
      publish: (key: string) => turnProducer.publish(topic, { key, value: VALUE }),
      sends: () => turnProducer.sends,
    };
  };
}

async function producePart(bootstrap: string): Promise<void> {
  const runs = [
    ['send per message, linger 1 (today)', 1, today],
    ['TurnProducer setImmediate, linger 1', 1, turns(afterTurn)],
    ['TurnProducer microtask, linger 1', 1, turns(afterMicrotasks)],
    ['TurnProducer setImmediate, linger 0', 0, turns(afterTurn)],
    ['send per message, linger 5', 5, today],
    ['TurnProducer setImmediate, linger 5', 5, turns(afterTurn)],
  ] as const;
  // The first pass warms the JIT up for every path; the second is the one to read.
  for (const pass of [1, 2]) {
    for (const [mode, linger, make] of runs) {
      console.log(JSON.stringify({ pass, ...(await produceRun(bootstrap, mode, linger, make)) }));
    }
  }
}

interface ConsumeMode {
  name: string;
  config: Record<string, unknown>;
  batch: boolean;
  pacer?: () => FetchPacer;
}

interface ConsumeResult {
  mode: string;
  rate: number;
  fetchPerSecond: number;
  cpuMsPerMessage: number;
  p50: number;
  p99: number;
  received: number;
}

async function consumeRun(bootstrap: string, mode: ConsumeMode, rate: number, seconds: number): Promise<ConsumeResult> {
  const topic = await createTopic(bootstrap);
  const stats = new Stats();
  const producerStats = new Stats();
  const producer = kafka.producer(producerConfig(bootstrap, producerStats, 1) as never);
  await producer.connect();
  const consumer = kafka.consumer({
    'bootstrap.servers': bootstrap,
    'group.id': `bench-${randomBytes(4).toString('hex')}`,
    'auto.offset.reset': 'latest',
    'enable.auto.commit': false,
    'statistics.interval.ms': 250,
    stats_cb: stats.callback,
    ...mode.config,
  } as never);
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  const latencies: number[] = [];
  let measuring = false;
  let joined = false;
  const seen = (value: Buffer | null) => {
    joined = true;
    if (!measuring || !value) return;
    latencies.push(performance.now() - value.readDoubleBE(0));
  };
  const pacer = mode.pacer?.();
  await consumer.run(
    mode.batch
      ? {
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) seen(message.value);
            const hold = pacer?.afterBatch(batch.messages.length, performance.now(), `${batch.partition}`) ?? 0;
            if (hold > 0) await new Promise((resolve) => setTimeout(resolve, hold));
          },
        }
      : { eachMessage: async ({ message }) => seen(message.value) },
  );
  let sent = 0;
  const sendOne = () => {
    const value = Buffer.alloc(180);
    value.writeDoubleBE(performance.now(), 0);
    sent += 1;
    void producer.send({ topic, messages: [{ key: `k${sent}`, value }] });
  };
  // Until the consumer has its partitions and reads (auto.offset.reset latest).
  while (!joined) {
    sendOne();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const flow = async (durationMs: number) => {
    const start = performance.now();
    const startSent = sent;
    while (performance.now() - start < durationMs) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      while (sent - startSent < due) sendOne();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };
  await flow(1_000);
  measuring = true;
  const before = await stats.next();
  const cpuBefore = cpuMs();
  await flow(seconds * 1000);
  const after = await stats.next();
  const cpu = cpuMs() - cpuBefore;
  measuring = false;
  await consumer.disconnect();
  await producer.disconnect();
  const sorted = latencies.sort((a, b) => a - b);
  return {
    mode: mode.name,
    rate,
    fetchPerSecond: (after.fetch - before.fetch) / ((after.ts - before.ts) / 1000),
    cpuMsPerMessage: cpu / Math.max(1, sorted.length),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    received: sorted.length,
  };
}

const CONSUME_MODES: ConsumeMode[] = [
  {
    name: 'today: eachMessage, queued.max.messages.kbytes 1024',
    batch: false,
    config: { 'queued.max.messages.kbytes': 1024 },
  },
  {
    name: 'eachBatch, queued.min.messages 1, fetch.queue.backoff.ms 1, no pacer',
    batch: true,
    config: { 'queued.max.messages.kbytes': 1024, 'queued.min.messages': 1, 'fetch.queue.backoff.ms': 1 },
  },
  {
    name: 'eachBatch, queued.min.messages 1, fetch.queue.backoff.ms 1, pacer 5 ms',
    batch: true,
    config: { 'queued.max.messages.kbytes': 1024, 'queued.min.messages': 1, 'fetch.queue.backoff.ms': 1 },
    pacer: () => new FetchPacer(),
  },
  {
    name: 'eachBatch, queued.min.messages 1, fetch.queue.backoff.ms 5, pacer 5 ms',
    batch: true,
    config: { 'queued.max.messages.kbytes': 1024, 'queued.min.messages': 1, 'fetch.queue.backoff.ms': 5 },
    pacer: () => new FetchPacer(),
  },
  {
    name: 'eachBatch, queued.min.messages 1, fetch.queue.backoff.ms 1, pacer 10 ms',
    batch: true,
    config: { 'queued.max.messages.kbytes': 1024, 'queued.min.messages': 1, 'fetch.queue.backoff.ms': 1 },
    pacer: () => new FetchPacer({ minPullIntervalMs: 10, busyRecordsPerSecond: 100 }),
  },
];

async function main(): Promise<void> {
  const broker = await startKafkaBroker({ log: (line) => line.startsWith('kafka:') && console.log(line) });
  try {
    const part = process.argv[2] ?? 'all';
    if (part === 'all' || part === 'produce') await producePart(broker.bootstrapServers);
    if (part === 'all' || part === 'consume') {
      const only = process.env.BENCH_MODES?.split(',').map(Number);
      for (const [index, mode] of CONSUME_MODES.entries()) {
        if (only && !only.includes(index)) continue;
        for (const [rate, seconds] of [
          [1_000, SECONDS],
          [20, SECONDS * 2],
        ] as const) {
          console.log(JSON.stringify(await consumeRun(broker.bootstrapServers, mode, rate, seconds)));
        }
      }
    }
  } finally {
    await broker.stop();
  }
}

await main();
