/**
 * `npm run bench`: the shop on a real local Kafka broker at time scale 0,
 * measured against what the same machine can do without it (issue 10).
 *
 * Starts Apache Kafka (tools/kafka/broker.ts), then, in one run:
 *   1. the Kafka client's ceiling: the same library, producer settings, broker
 *      and partition count as the shop, with messages of the shop's own events;
 *      produce rate P and consume rate C, and 1 / (4/P + 8/C) orders/s;
 *   2. the web path's ceiling: a bare fastify route hit by the same load generator;
 *   3. the shop: `pizza all` from dist/ as a child process (so its memory is its
 *      own), orders placed through the web app's real login + CSRF + POST /orders
 *      path, delivery read from the orders view (SQLite, read-only):
 *        - sustained orders/s: BENCH_ORDERS orders placed as fast as BENCH_CLIENTS
 *          customers can, until every one is delivered in the view;
 *        - end-to-end latency p50/p95/p99 at BENCH_RATE orders/s offered for
 *          BENCH_SECONDS (from the customer's POST to "delivered" in the view);
 *        - peak RSS (VmHWM) of `pizza all`, and of any processes it starts.
 * Prints a table with issue 10's targets, writes bench-results/latest.json,
 * bench-results/report.html (charts, inline SVG) and bench-results/bench-report.svg.
 * Only when asked (`npm run bench -- --docs`, or BENCH_DOCS=1) does it also
 * replace docs/bench-report.svg: a run to try something leaves the tree clean.
 *
 * BENCH_PROCESSING=exactly-once runs the roles in Kafka transactions, to compare.
 * BENCH_CPU_PROF=1 writes a V8 CPU profile of `pizza all` to bench-results/.
 * BENCH_SKIP_CEILINGS=1 leaves out steps 1 and 2 (for profiling the shop alone).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startKafkaBroker } from '../tools/kafka/broker.js';
import { CpuMeter, findProcess } from './bench/cpu.js';
import { type KafkaCeiling, measureKafkaCeiling } from './bench/kafka-ceiling.js';
import { closedLoop, customers, DeliveryWatch, openLoop, PIZZA } from './bench/load.js';
import { MemorySampler } from './bench/memory.js';
import { readmeSvg, reportHtml } from './bench/report.js';
import { type BenchResults, benchRows } from './bench/results.js';
import { perSecond } from './bench/series.js';
import { type Processing, repoRoot, resultsDir, type ShopProcesses, startShop } from './bench/shop-process.js';
import { formatTable, TARGETS } from './bench/targets.js';
import { envNumber, percentile, sortedNumbers, stamp, whole } from './bench/util.js';
import { measureWebCeiling, type WebCeiling } from './bench/web-ceiling.js';

const env = process.env;
const options = {
  orders: envNumber(env, 'BENCH_ORDERS', 5_000),
  clients: envNumber(env, 'BENCH_CLIENTS', 32),
  rate: envNumber(env, 'BENCH_RATE', TARGETS.latencyRate),
  seconds: envNumber(env, 'BENCH_SECONDS', 15),
  partitions: envNumber(env, 'BENCH_PARTITIONS', 4),
  ceilingMessages: envNumber(env, 'BENCH_CEILING_MESSAGES', 300_000),
  ceilingSendSize: envNumber(env, 'BENCH_CEILING_SEND_SIZE', 1_000),
  ceilingInFlight: envNumber(env, 'BENCH_CEILING_IN_FLIGHT', 4),
  webSeconds: envNumber(env, 'BENCH_WEB_SECONDS', 5),
  cpuProfile: env.BENCH_CPU_PROF === '1',
  skipCeilings: env.BENCH_SKIP_CEILINGS === '1',
  processing: (env.BENCH_PROCESSING === 'exactly-once' ? 'exactly-once' : 'at-least-once') as Processing,
  docs: process.argv.slice(2).includes('--docs') || env.BENCH_DOCS === '1',
};

const seconds = (since: number) => (Date.now() - since) / 1000;

async function main(): Promise<void> {
  const began = Date.now();
  const durations: Record<string, number> = {};
  const work = mkdtempSync(join(tmpdir(), 'pizza-bench-'));
  const broker = await startKafkaBroker({ log: (line) => line.startsWith('kafka:') && console.log(line) });
  durations.broker = seconds(began);
  let shop: ShopProcesses | undefined;
  try {
    let kafkaCeiling: KafkaCeiling = {
      partitions: options.partitions,
      averageMessageBytes: Number.NaN,
      sendSize: options.ceilingSendSize,
      sendsInFlight: options.ceilingInFlight,
      produce: { messages: 0, seconds: 0, perSecond: Number.NaN },
      consume: { messages: 0, seconds: 0, perSecond: Number.NaN },
      ordersPerSecond: Number.NaN,
    };
    let webCeiling: WebCeiling = {
      clients: options.clients,
      seconds: 0,
      requests: 0,
      perSecond: Number.NaN,
      rawHttpPerSecond: Number.NaN,
      fastifyVersion: '',
    };
    if (!options.skipCeilings) {
      let started = Date.now();
      console.log(`measuring the Kafka client's ceiling (${whole(options.ceilingMessages)} messages)...`);
      kafkaCeiling = await measureKafkaCeiling({
        bootstrapServers: broker.bootstrapServers,
        partitions: options.partitions,
        messages: options.ceilingMessages,
        sendSize: options.ceilingSendSize,
        sendsInFlight: options.ceilingInFlight,
        maxSecondsEach: 12,
      });
      durations.kafkaCeiling = seconds(started);
      console.log(
        `  produce ${whole(kafkaCeiling.produce.perSecond)} msg/s, consume ${whole(kafkaCeiling.consume.perSecond)} msg/s: ${whole(kafkaCeiling.ordersPerSecond)} orders/s`,
      );
      started = Date.now();
      console.log(`measuring a bare fastify route with ${options.clients} clients for ${options.webSeconds} s...`);
      webCeiling = await measureWebCeiling({ clients: options.clients, seconds: options.webSeconds });
      durations.webCeiling = seconds(started);
      console.log(
        `  ${whole(webCeiling.perSecond)} requests/s with the bench's client, ${whole(webCeiling.rawHttpPerSecond)} with node:http`,
      );
    }

    let started = Date.now();
    mkdirSync(resultsDir, { recursive: true });
    shop = await startShop({
      bootstrapServers: broker.bootstrapServers,
      partitions: options.partitions,
      processing: options.processing,
      layout: 'all',
      workDir: join(work, 'shop'),
      nodeArgs: options.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`] : [],
    });
    const clients = await customers(shop.baseUrl, options.clients);
    const watch = new DeliveryWatch(shop.dbFile);
    // Warm-up: the consumer groups have joined and the code paths are compiled.
    await watch.waitFor(await Promise.all(clients.map((client) => client.order(PIZZA))), 60_000);
    durations.shopStart = seconds(started);

    // 1. Sustained throughput: closed loop, each customer orders again as soon as the last one is accepted.
    started = Date.now();
    console.log(`placing ${whole(options.orders)} orders with ${options.clients} customers...`);
    const origin = Date.now();
    const sampler = new MemorySampler(shop.pids, origin).start();
    const cpu = new CpuMeter(Object.values(shop.pids), findProcess(dirname(broker.serverLog))).start();
    const sustained = await closedLoop(clients, options.orders);
    const acceptedSeconds = (sustained.endedAt - sustained.startedAt) / 1000;
    await watch.waitFor(
      sustained.placed.map((order) => order.orderId),
      300_000,
    );
    const lastDelivered = Math.max(...sustained.placed.map((order) => watch.delivered.get(order.orderId) ?? 0));
    const sustainedSeconds = (lastDelivered - sustained.startedAt) / 1000;
    const deliveredPerSecond = options.orders / sustainedSeconds;
    const cpuPerOrder = cpu.stop(options.orders, cpus().length);
    durations.sustained = seconds(started);

    // 2. Latency at a fixed offered rate: open loop, orders go out on schedule whatever the answers.
    started = Date.now();
    console.log(`offering ${options.rate} orders/s for ${options.seconds} s...`);
    const offered = await openLoop(clients, options.rate, options.seconds);
    await watch.waitFor(
      offered.placed.map((order) => order.orderId),
      300_000,
    );
    const latencies = sortedNumbers(
      offered.placed.map((order) => (watch.delivered.get(order.orderId) ?? Number.NaN) - order.sentAt),
    );
    const lastOffered = Math.max(...offered.placed.map((order) => watch.delivered.get(order.orderId) ?? 0));
    durations.latency = seconds(started);
    sampler.sample();
    sampler.stop();
    const memory = sampler.peaks().all;
    watch.close();

    const results: BenchResults = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      partitions: options.partitions,
      processing: options.processing,
      kafkaCeiling,
      webCeiling,
      throughput: {
        orders: options.orders,
        customers: options.clients,
        acceptedPerSecond: options.orders / acceptedSeconds,
        deliveredPerSecond,
        seconds: sustainedSeconds,
        shareOfCeiling: deliveredPerSecond / kafkaCeiling.ordersPerSecond,
        postShareOfBareRoute: options.orders / acceptedSeconds / webCeiling.perSecond,
        cpuPerOrder,
      },
      latency: {
        offeredPerSecond: options.rate,
        achievedOfferPerSecond: offered.placed.length / ((offered.endedAt - offered.startedAt) / 1000),
        orders: offered.placed.length,
        p50Ms: percentile(latencies, 50),
        p95Ms: percentile(latencies, 95),
        p99Ms: percentile(latencies, 99),
        maxMs: latencies.at(-1) ?? Number.NaN,
      },
      memory: {
        peakRssMb: memory?.main.peakMb ?? Number.NaN,
        treePeakMb: memory?.treePeakMb ?? Number.NaN,
        processes: memory?.processes.length ?? 0,
      },
      phases: {
        sustained: [0, (lastDelivered - origin) / 1000],
        latency: [(offered.startedAt - origin) / 1000, (lastOffered - origin) / 1000],
      },
      series: perSecond([...sustained.placed, ...offered.placed], watch.delivered, origin),
      memorySamples: sampler.samples,
      targets: TARGETS,
      durations: { ...durations, total: seconds(began) },
    };
    const rows = benchRows(results);
    console.log(
      `\nprocessing: ${options.processing}; ${results.cpus} cores shared by the broker, the load and the shop`,
    );
    console.log(formatTable(rows));

    const json = `${JSON.stringify(results, null, 2)}\n`;
    const file = join(resultsDir, `bench-${stamp(results.date)}.json`);
    writeFileSync(file, json);
    writeFileSync(join(resultsDir, 'latest.json'), json);
    const html = join(resultsDir, 'report.html');
    writeFileSync(html, reportHtml(results, rows));
    copyFileSync(html, join(resultsDir, `report-${stamp(results.date)}.html`));
    const svg = readmeSvg(results);
    const chart = join(resultsDir, 'bench-report.svg');
    writeFileSync(chart, svg);
    if (options.docs) {
      mkdirSync(join(repoRoot, 'docs'), { recursive: true });
      writeFileSync(join(repoRoot, 'docs', 'bench-report.svg'), svg);
    }
    console.log(`\nwritten: ${file}, ${html}, ${chart}${options.docs ? ', docs/bench-report.svg' : ''}`);
    console.log(
      `bench took ${whole(results.durations.total ?? 0)} s: ${Object.entries(durations)
        .map(([part, took]) => `${part} ${took.toFixed(0)} s`)
        .join(', ')}`,
    );
  } finally {
    await shop?.stop();
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
