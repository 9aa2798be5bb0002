/**
 * `npm run bench`: the shop on a real local Kafka broker at time scale 0.
 *
 * Starts Apache Kafka (tools/kafka/broker.ts), runs `pizza all` from dist/ as a
 * child process (so its memory is its own), places orders through the web
 * app's real login + CSRF + POST /orders path, and reads delivery from the
 * orders view (SQLite, read-only). Reports:
 *   - sustained orders/s: BENCH_ORDERS orders placed as fast as BENCH_CLIENTS
 *     customers can, until every one is delivered in the view;
 *   - end-to-end latency p50/p95/p99 at BENCH_RATE orders/s offered for
 *     BENCH_SECONDS (from the customer's POST to "delivered" in the view);
 *   - peak RSS (VmHWM) of `pizza all`.
 * BENCH_PROCESSING=exactly-once runs the roles in Kafka transactions, to compare.
 * BENCH_CPU_PROF=1 writes a V8 CPU profile of `pizza all` to bench-results/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { checkTopics } from '../src/cli/commands/topics-check.js';
import { loadSettings } from '../src/config/settings.js';
import { ShopHttpClient } from '../test/support/http-client.js';
import { startKafkaBroker } from '../tools/kafka/broker.js';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 5_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 4);
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
/** at-least-once (the default) or exactly-once: the same bench, to compare what transactions cost. */
const PROCESSING = process.env.BENCH_PROCESSING === 'exactly-once' ? 'exactly-once' : 'at-least-once';
const repoRoot = resolve(import.meta.dirname, '..');
const resultsDir = join(repoRoot, 'bench-results');
const PIZZA = { sauce: 'Tomato', cheese: 'Mozzarella', mainTopping: 'Pepperoni', extraToppings: ['Mushroom'] };

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

function memoryKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** When each order was delivered in the view (the status row's update time), read-only like any other reader. */
function deliveredAt(dbFile: string, orderIds: string[]): Map<string, number> {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 2000');
    const rows = db.prepare('SELECT order_id, updated_at FROM status WHERE status = 999').all() as Array<{
      order_id: string;
      updated_at: number;
    }>;
    const wanted = new Set(orderIds);
    return new Map(rows.filter((row) => wanted.has(row.order_id)).map((row) => [row.order_id, row.updated_at]));
  } finally {
    db.close();
  }
}

async function waitDelivered(dbFile: string, orderIds: string[], timeoutMs: number): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const delivered = deliveredAt(dbFile, orderIds);
    if (delivered.size === orderIds.length) return delivered;
    if (Date.now() > deadline)
      throw new Error(`only ${delivered.size} of ${orderIds.length} orders delivered within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

async function customers(baseUrl: string, count: number): Promise<ShopHttpClient[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const client = new ShopHttpClient(baseUrl);
      await client.login(`bench${index}`);
      return client;
    }),
  );
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'pizza-bench-'));
  const broker = await startKafkaBroker({ log: (line) => line.startsWith('kafka:') && console.log(line) });
  let child: ChildProcess | undefined;
  try {
    const port = await freePort();
    const ini = join(work, 'bench.ini');
    writeFileSync(
      ini,
      [
        '[kafka]',
        `bootstrap.servers = ${broker.bootstrapServers}`,
        '[kafka-topic-config]',
        `num_partitions = ${PARTITIONS}`,
        'replication_factor = 1',
        '[pizza-shop]',
        'status_source = topics',
        `processing = ${PROCESSING}`,
        `data_dir = ${join(work, 'data')}`,
        `log_dir = ${join(work, 'logs')}`,
        `port = ${port}`,
      ].join('\n'),
    );
    const settings = loadSettings({ config: ini, timeScale: '0' });
    const topics = await checkTopics(settings, { create: true });
    if (topics.exitCode !== 0) throw new Error(`topics not ready: ${topics.report.problems.join('; ')}`);

    mkdirSync(resultsDir, { recursive: true });
    const nodeArgs = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`] : [];
    child = spawn(
      process.execPath,
      [...nodeArgs, join(repoRoot, 'bin', 'pizza'), 'all', '--config', ini, '--time-scale', '0', '--log-level', 'warn'],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    const pid = child.pid ?? 0;
    const baseUrl = `http://127.0.0.1:${port}`;
    const started = Date.now();
    while (
      !(await fetch(`${baseUrl}/health-check`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() - started > 90_000 || child.exitCode !== null) throw new Error('pizza all did not come up');
      await sleep(200);
    }
    const dbFile = join(settings.shop.dataDir, settings.orders.fileName);
    const clients = await customers(baseUrl, CLIENTS);

    // Warm-up: the consumer groups have joined and the code paths are compiled.
    const warm = await Promise.all(clients.map((client) => client.order(PIZZA)));
    await waitDelivered(dbFile, warm, 60_000);

    // 1. Sustained throughput: closed loop, each customer orders again as soon as the last one is accepted.
    console.log(`placing ${ORDERS} orders with ${CLIENTS} customers...`);
    const placed: string[] = [];
    const throughputStart = Date.now();
    let next = 0;
    await Promise.all(
      clients.map(async (client) => {
        while (next < ORDERS) {
          next += 1;
          placed.push(await client.order(PIZZA));
        }
      }),
    );
    const acceptedMs = Date.now() - throughputStart;
    const delivered = await waitDelivered(dbFile, placed, 300_000);
    const lastDelivered = Math.max(...delivered.values());
    const sustainedSeconds = (lastDelivered - throughputStart) / 1000;
    const ordersPerSecond = ORDERS / sustainedSeconds;

    // 2. Latency at a fixed offered rate: open loop, orders go out on schedule whatever the answers.
    const total = RATE * SECONDS;
    console.log(`offering ${RATE} orders/s for ${SECONDS} s...`);
    const sentAt = new Map<string, number>();
    const latencyStart = Date.now();
    const inFlight: Array<Promise<void>> = [];
    for (let i = 0; i < total; i += 1) {
      const due = latencyStart + (i * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const client = clients[i % clients.length] as ShopHttpClient;
      const sent = Date.now();
      inFlight.push(client.order(PIZZA).then((orderId) => void sentAt.set(orderId, sent)));
    }
    await Promise.all(inFlight);
    const offeredSeconds = (Date.now() - latencyStart) / 1000;
    const latencyDelivered = await waitDelivered(dbFile, [...sentAt.keys()], 300_000);
    const latencies = [...sentAt]
      .map(([orderId, sent]) => (latencyDelivered.get(orderId) ?? Number.NaN) - sent)
      .sort((a, b) => a - b);
    const peakRssMb = memoryKb(pid, 'VmHWM') / 1024;

    const results = {
      date: new Date().toISOString(),
      node: process.version,
      partitions: PARTITIONS,
      processing: PROCESSING,
      throughput: {
        orders: ORDERS,
        customers: CLIENTS,
        acceptedPerSecond: ORDERS / (acceptedMs / 1000),
        deliveredPerSecond: ordersPerSecond,
        seconds: sustainedSeconds,
      },
      latency: {
        offeredPerSecond: RATE,
        achievedOfferPerSecond: total / offeredSeconds,
        orders: total,
        p50Ms: percentile(latencies, 50),
        p95Ms: percentile(latencies, 95),
        p99Ms: percentile(latencies, 99),
        maxMs: latencies.at(-1),
      },
      peakRssMb,
    };
    const rows: Array<[string, string, string]> = [
      ['sustained throughput (delivered)', `${ordersPerSecond.toFixed(0)} orders/s`, '>= 1000'],
      ['  orders accepted by the web app', `${results.throughput.acceptedPerSecond.toFixed(0)} orders/s`, ''],
      [`latency p50 @ ${RATE}/s offered`, `${results.latency.p50Ms.toFixed(0)} ms`, ''],
      [`latency p95 @ ${RATE}/s offered`, `${results.latency.p95Ms.toFixed(0)} ms`, ''],
      [`latency p99 @ ${RATE}/s offered`, `${results.latency.p99Ms.toFixed(0)} ms`, '<= 250 ms'],
      ['peak RSS of pizza all', `${peakRssMb.toFixed(0)} MB`, '<= 250 MB'],
    ];
    console.log(`\nprocessing: ${PROCESSING}`);
    console.log(`${'measure'.padEnd(34)}${'result'.padEnd(18)}target`);
    for (const [name, value, target] of rows) console.log(`${name.padEnd(34)}${value.padEnd(18)}${target}`);
    const file = join(resultsDir, `bench-${results.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwritten to ${file}`);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((done) => child?.once('exit', done));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await broker.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
