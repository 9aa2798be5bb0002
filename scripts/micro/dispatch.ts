/**
 * Micro-benchmark of what every consumed record costs on its way to a role's
 * handler, with a trivial handler: the consume loop's conversion, the
 * Dispatcher, the role's wrapper (its logger) and the real metrics observer;
 * and the host-reader path (`toRecord` and a HostReaderCore's take).
 *
 *   npx tsx scripts/micro/dispatch.ts [records=200000] [repetitions=3]
 *
 * Prints µs of CPU per record (the process's user + system time: GC threads
 * included; and the wall time) and the bytes
 * allocated per record (from V8's GC profiler: freed by each GC plus what the
 * heap grew by).
 */
import { GCProfiler } from 'node:v8';
import type pkg from '@confluentinc/kafka-javascript';
import pino, { type Logger } from 'pino';
import type { BusRecord, DispatchObserver, RecordHandler } from '../../src/adapters/bus/bus.js';
import { Dispatcher } from '../../src/adapters/bus/dispatcher.js';
import { HostReaderCore } from '../../src/adapters/bus/host-read.js';
import { type ClientMessage, ConsumeLoop, PausedPartitions } from '../../src/adapters/kafka/group/consume-loop.js';
import { toRecord } from '../../src/adapters/kafka/host-reader.js';
import { ShopMetrics } from '../../src/adapters/metrics/shop-metrics.js';
import { systemClock } from '../../src/domain/clock.js';
import { roleRecordHandler } from '../../src/roles/consuming-role.js';

const RECORDS = Number(process.argv[2] ?? 200_000);
const REPETITIONS = Number(process.argv[3] ?? 3);
const PARTITIONS = 4;
const TOPIC = 'pizza-assembled';
/** Records per eachBatch / per poll, as a loaded consumer sees them. */
const BATCH = 64;
const POLL = 500;
const CAPACITY = 64;

// A silent logger still builds children; the handler never logs, as most records' work logs once or twice.
const log = pino({ level: 'info' }, { write: () => {} } as never);

function orderId(index: number): string {
  return index.toString(16).padStart(12, '0');
}

/** Realistic headers: a quarter of the records carry a traceparent and an idempotency key, the rest none. */
function clientMessages(): ClientMessage[][] {
  const byPartition: ClientMessage[][] = Array.from({ length: PARTITIONS }, () => []);
  const value = Buffer.from(JSON.stringify({ order_id: 'x', baking_time: 3, ingredients: ['a', 'b'] }));
  for (let index = 0; index < RECORDS; index += 1) {
    const messages = byPartition[index % PARTITIONS] as ClientMessage[];
    messages.push({
      key: Buffer.from(orderId(index)),
      value,
      offset: String(messages.length),
      timestamp: String(1_700_000_000_000 + index),
      ...(index % 4 === 0
        ? {
            headers: {
              traceparent: Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
              'pizza-idempotency-key': Buffer.from('5f0c9d2e-7b7a-4a63-9d3c-1f3e7e5c6b21'),
            },
          }
        : {}),
    });
  }
  return byPartition;
}

function rawMessages(): pkg.Message[] {
  const messages: pkg.Message[] = [];
  const value = Buffer.from(JSON.stringify({ order_id: 'x', status: 'baked' }));
  const offsets = new Array<number>(PARTITIONS).fill(0);
  for (let index = 0; index < RECORDS; index += 1) {
    const partition = index % PARTITIONS;
    const offset = offsets[partition] ?? 0;
    offsets[partition] = offset + 1;
    messages.push({
      topic: TOPIC,
      partition,
      offset,
      key: Buffer.from(orderId(index)),
      value,
      size: value.length,
      timestamp: 1_700_000_000_000 + index,
      ...(index % 4 === 0
        ? {
            headers: [
              { traceparent: Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01') },
              { 'pizza-idempotency-key': Buffer.from('5f0c9d2e-7b7a-4a63-9d3c-1f3e7e5c6b21') },
            ],
          }
        : {}),
    } as pkg.Message);
  }
  return messages;
}

function roleHandler(metrics: ShopMetrics): { handle: RecordHandler; observer: DispatchObserver; done: () => number } {
  let handled = 0;
  const handle = roleRecordHandler(log, async (_record: BusRecord, _signal: AbortSignal, _log: Logger) => {
    handled += 1;
  });
  return { handle, observer: metrics.observer('assemble', CAPACITY), done: () => handled };
}

async function untilDone(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}

async function groupPath(partitions: ClientMessage[][]): Promise<void> {
  const { handle, observer, done } = roleHandler(new ShopMetrics());
  let commits = 0;
  const dispatcher = new Dispatcher({
    capacity: CAPACITY,
    handle,
    observer,
    log,
    commit: () => {
      commits += 1;
    },
    deadLetter: async () => {},
  });
  const fetching = new PausedPartitions({ pause: () => {}, resume: () => {} }, log, () => false);
  const loop = new ConsumeLoop({
    sink: dispatcher,
    fetching,
    owns: () => true,
    restarting: () => false,
    stopping: () => false,
    exactlyOnce: false,
    clock: systemClock,
  });
  for (let start = 0; start < RECORDS / PARTITIONS; start += BATCH) {
    for (let partition = 0; partition < PARTITIONS; partition += 1) {
      const messages = (partitions[partition] as ClientMessage[]).slice(start, start + BATCH);
      if (messages.length === 0) continue;
      await loop.eachBatch({ batch: { topic: TOPIC, partition, messages }, resolveOffset: () => {} });
    }
    if (!dispatcher.hasRoom()) await dispatcher.whenRoom();
  }
  await untilDone(() => done() === RECORDS);
  await dispatcher.drain(1_000);
  if (commits === 0) throw new Error('nothing was committed');
}

async function hostReaderPath(messages: pkg.Message[]): Promise<void> {
  const { handle, observer, done } = roleHandler(new ShopMetrics());
  const core = new HostReaderCore(
    {
      id: 'status',
      role: 'status',
      topics: [TOPIC],
      capacity: 512,
      handle,
      observer,
      log,
      startAt: async (partitions) => partitions.map((tp) => ({ ...tp, from: 'beginning' as const })),
    },
    { graceMs: 1_000, deadLetter: async () => {} },
  );
  await core.begin(
    Array.from({ length: PARTITIONS }, (_, partition) => ({
      topic: TOPIC,
      partition,
      low: 0n,
      high: BigInt(RECORDS / PARTITIONS),
    })),
    async () => undefined,
  );
  for (let start = 0; start < RECORDS; start += POLL) {
    const records = messages.slice(start, start + POLL).map(toRecord);
    const mine = records.filter((record) => core.wants(record));
    if (!core.hasRoom()) await core.whenRoom();
    core.take(mine);
  }
  await untilDone(() => done() === RECORDS);
  await core.stop();
}

async function measure<T>(name: string, input: () => T, run: (input: T) => Promise<void>): Promise<void> {
  for (let repetition = 1; repetition <= REPETITIONS; repetition += 1) {
    const prepared = input();
    const profiler = new GCProfiler();
    profiler.start();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    await run(prepared);
    const cpu = process.cpuUsage(cpuBefore);
    const ms = performance.now() - started;
    const heapAfter = process.memoryUsage().heapUsed;
    const profile = profiler.stop();
    let freed = 0;
    for (const gc of profile.statistics) {
      freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    }
    const allocated = freed + heapAfter - heapBefore;
    console.log(
      `${name} #${repetition}: ${((cpu.user + cpu.system) / RECORDS).toFixed(2)} µs CPU/record ` +
        `(${((ms * 1000) / RECORDS).toFixed(2)} µs wall), ` +
        `${Math.round(allocated / RECORDS)} B/record allocated ${profile.statistics.length} GCs`,
    );
  }
}

await measure('group path ', clientMessages, groupPath);
await measure('host reader', rawMessages, hostReaderPath);
