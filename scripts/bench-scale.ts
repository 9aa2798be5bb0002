/**
 * `npm run bench:scale`: how the shop's cost grows with the work (issue 10),
 * for the README rather than every run. Each part gets a fresh local broker:
 *   - partitions: sustained throughput of `pizza all` with 1, 2 and 4 partitions
 *     (BENCH_SCALE_PARTITIONS), BENCH_SCALE_ORDERS orders each;
 *   - roles: the same at 4 partitions with one process per role (`pizza serve`,
 *     `assemble`, `bake`, `deliver`), and the RSS of each and their sum;
 *   - view: the orders view holding BENCH_VIEW_ORDERS orders: the order page and
 *     "my orders" over HTTP from `pizza serve`, one status event applied, file size;
 *   - rebuild: the view rebuilt from Kafka, per 10,000 orders (BENCH_REBUILD_ORDERS);
 *   - soak: `pizza all` at BENCH_SOAK_RATE orders/s for BENCH_SOAK_SECONDS, RSS
 *     every 5 s: start, end, peak and growth in MB per minute.
 * BENCH_SCALE_PHASES=partitions,roles,view,rebuild,soak picks parts.
 * Prints a table and writes bench-results/scale.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafkaBroker } from '../tools/kafka/broker.js';
import { closedLoop, customers, DeliveryWatch, openLoop, PIZZA } from './bench/load.js';
import { MemorySampler } from './bench/memory.js';
import { measureOrdersView, type OrdersViewResult } from './bench/orders-view.js';
import { measureRebuild, type RebuildResult } from './bench/rebuild.js';
import { resultsDir, type ShopLayout, startShop } from './bench/shop-process.js';
import { formatTable, type ResultRow, TARGETS } from './bench/targets.js';
import { envNumber, figure, percentile, slope, sortedNumbers, stamp, whole } from './bench/util.js';

const env = process.env;
const PHASES = ['partitions', 'roles', 'view', 'rebuild', 'soak'] as const;
type Phase = (typeof PHASES)[number];
const options = {
  orders: envNumber(env, 'BENCH_SCALE_ORDERS', 5_000),
  clients: envNumber(env, 'BENCH_CLIENTS', 32),
  partitions: (env.BENCH_SCALE_PARTITIONS ?? '1,2,4').split(',').map(Number),
  viewOrders: envNumber(env, 'BENCH_VIEW_ORDERS', 100_000),
  viewSamples: envNumber(env, 'BENCH_VIEW_SAMPLES', 50),
  rebuildOrders: envNumber(env, 'BENCH_REBUILD_ORDERS', 10_000),
  soakSeconds: envNumber(env, 'BENCH_SOAK_SECONDS', 600),
  soakRate: envNumber(env, 'BENCH_SOAK_RATE', 200),
  phases: (env.BENCH_SCALE_PHASES ?? PHASES.join(',')).split(',') as Phase[],
};
for (const phase of options.phases) {
  if (!PHASES.includes(phase))
    throw new Error(`BENCH_SCALE_PHASES: no part "${phase}"; pick from ${PHASES.join(', ')}`);
}

interface ThroughputResult {
  layout: ShopLayout;
  partitions: number;
  orders: number;
  deliveredPerSecond: number;
  acceptedPerSecond: number;
  /** VmHWM of each process's tree, by role (`all` for pizza all). */
  peakRssMb: Record<string, number>;
  sumPeakRssMb: number;
}

interface SoakResult {
  seconds: number;
  offeredPerSecond: number;
  orders: number;
  delivered: number;
  /** How long after the last order went out the rest were delivered (or the wait gave up). */
  drainSeconds: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  rssStartMb: number;
  rssEndMb: number;
  peakRssMb: number;
  growthMbPerMinute: number;
  growthMbPerMinuteSecondHalf: number;
  samples: Array<{ t: number; rssMb: number }>;
}

async function withBroker<T>(run: (bootstrapServers: string, workDir: string) => Promise<T>): Promise<T> {
  const work = mkdtempSync(join(tmpdir(), 'pizza-scale-'));
  const broker = await startKafkaBroker();
  try {
    return await run(broker.bootstrapServers, work);
  } finally {
    await broker.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function throughput(layout: ShopLayout, partitions: number): Promise<ThroughputResult> {
  console.log(`throughput: ${layout === 'all' ? 'pizza all' : 'a process per role'}, ${partitions} partition(s)...`);
  return withBroker(async (bootstrapServers, workDir) => {
    const shop = await startShop({ bootstrapServers, partitions, processing: 'at-least-once', layout, workDir });
    try {
      const clients = await customers(shop.baseUrl, options.clients);
      const watch = new DeliveryWatch(shop.dbFile);
      await watch.waitFor(await Promise.all(clients.map((client) => client.order(PIZZA))), 90_000);
      const sampler = new MemorySampler(shop.pids, Date.now()).start();
      const run = await closedLoop(clients, options.orders);
      const ids = run.placed.map((order) => order.orderId);
      await watch.waitFor(ids, 600_000);
      sampler.stop();
      const last = Math.max(...ids.map((orderId) => watch.delivered.get(orderId) ?? 0));
      watch.close();
      const peaks = Object.fromEntries(Object.entries(sampler.peaks()).map(([role, tree]) => [role, tree.treePeakMb]));
      return {
        layout,
        partitions,
        orders: options.orders,
        deliveredPerSecond: options.orders / ((last - run.startedAt) / 1000),
        acceptedPerSecond: options.orders / ((run.endedAt - run.startedAt) / 1000),
        peakRssMb: peaks,
        sumPeakRssMb: Object.values(peaks).reduce((sum, each) => sum + each, 0),
      };
    } finally {
      await shop.stop();
    }
  });
}

async function soak(): Promise<SoakResult> {
  console.log(`soak: pizza all at ${options.soakRate} orders/s for ${options.soakSeconds} s...`);
  return withBroker(async (bootstrapServers, workDir) => {
    const shop = await startShop({
      bootstrapServers,
      partitions: 4,
      processing: 'at-least-once',
      layout: 'all',
      workDir,
    });
    try {
      const clients = await customers(shop.baseUrl, options.clients);
      const watch = new DeliveryWatch(shop.dbFile);
      await watch.waitFor(await Promise.all(clients.map((client) => client.order(PIZZA))), 90_000);
      const origin = Date.now();
      const sampler = new MemorySampler(shop.pids, origin, 5_000).start();
      const run = await openLoop(clients, options.soakRate, options.soakSeconds);
      sampler.sample();
      sampler.stop();
      const ids = run.placed.map((order) => order.orderId);
      const drainStarted = Date.now();
      await watch.waitFor(ids, 120_000).catch((error: unknown) => console.log(`  ${(error as Error).message}`));
      const drainSeconds = (Date.now() - drainStarted) / 1000;
      const latencies = sortedNumbers(
        run.placed.map((order) => (watch.delivered.get(order.orderId) ?? Number.NaN) - order.sentAt),
      );
      const delivered = ids.filter((orderId) => watch.delivered.has(orderId)).length;
      watch.close();
      const samples = sampler.samples.map((sample) => ({ t: sample.t, rssMb: sample.totalRssMb }));
      const perMinute = (points: typeof samples) => slope(points.map((point) => ({ x: point.t / 60, y: point.rssMb })));
      return {
        seconds: options.soakSeconds,
        offeredPerSecond: options.soakRate,
        orders: ids.length,
        delivered,
        drainSeconds,
        latencyP50Ms: percentile(latencies, 50),
        latencyP99Ms: percentile(latencies, 99),
        rssStartMb: samples[0]?.rssMb ?? Number.NaN,
        rssEndMb: samples.at(-1)?.rssMb ?? Number.NaN,
        peakRssMb: sampler.peaks().all?.treePeakMb ?? Number.NaN,
        growthMbPerMinute: perMinute(samples),
        growthMbPerMinuteSecondHalf: perMinute(samples.filter((sample) => sample.t >= options.soakSeconds / 2)),
        samples,
      };
    } finally {
      await shop.stop();
    }
  });
}

function throughputRows(results: ThroughputResult[]): ResultRow[] {
  return results.flatMap((result) => {
    const name = result.layout === 'all' ? 'pizza all' : 'a process per role';
    const rows: ResultRow[] = [
      {
        measure: `${name}, ${result.partitions} partition(s): delivered`,
        result: `${whole(result.deliveredPerSecond)} orders/s`,
        target: '',
      },
      { measure: '  accepted (POST)', result: `${whole(result.acceptedPerSecond)} orders/s`, target: '' },
    ];
    if (result.layout === 'all') {
      rows.push({
        measure: '  peak RSS',
        result: `${figure(result.peakRssMb.all ?? Number.NaN)} MB`,
        target: `<= ${TARGETS.peakRssMbAll} MB`,
        met: (result.peakRssMb.all ?? Number.POSITIVE_INFINITY) <= TARGETS.peakRssMbAll,
      });
    } else {
      for (const [role, peak] of Object.entries(result.peakRssMb)) {
        rows.push({
          measure: `  peak RSS of pizza ${role}`,
          result: `${figure(peak)} MB`,
          target: `<= ${TARGETS.peakRssMbRole} MB`,
          met: peak <= TARGETS.peakRssMbRole,
        });
      }
      rows.push({
        measure: '  sum of the roles',
        result: `${figure(result.sumPeakRssMb)} MB`,
        target: `<= ${TARGETS.peakRssMbTree} MB`,
        met: result.sumPeakRssMb <= TARGETS.peakRssMbTree,
      });
    }
    return rows;
  });
}

function viewRows(view: OrdersViewResult): ResultRow[] {
  const timing = (t: { firstMs: number; p50Ms: number; p95Ms: number }) =>
    `${figure(t.firstMs)} / ${figure(t.p50Ms)} / ${figure(t.p95Ms)} ms`;
  return [
    {
      measure: `orders view, ${whole(view.orders)} orders: file size`,
      result: `${figure(view.fileMb)} MB`,
      target: '',
    },
    {
      measure: `  filled through the stores (${figure(view.eventsPerOrder)} events, ${view.logLinesPerOrder} log lines each)`,
      result: `${figure(view.fillSeconds)} s`,
      target: '',
    },
    { measure: '  pizza serve started on it', result: `${figure(view.serveStartSeconds)} s`, target: '' },
    { measure: '  order page: first / p50 / p95', result: timing(view.orderPage), target: '' },
    {
      measure: `  my orders (${view.myOrders.ordersShown} shown): first / p50 / p95`,
      result: timing(view.myOrders),
      target: '',
    },
    {
      measure: '  one status event applied: first / p50 / p95',
      result: timing(view.applyOneEvent),
      target: '',
    },
    { measure: '  peak RSS of pizza serve', result: `${figure(view.serveRssMb)} MB`, target: '' },
  ];
}

function rebuildRows(rebuild: RebuildResult): ResultRow[] {
  return [
    {
      measure: `view rebuilt from Kafka (${whole(rebuild.orders)} orders)`,
      result: `${figure(rebuild.viewSecondsPer10k)} s per 10,000 orders`,
      target: '',
    },
    {
      measure: "  deliver's memory replayed",
      result: `${whole(rebuild.replayMicrosecondsPerOrder)} µs per order`,
      target: '',
    },
  ];
}

function soakRows(result: SoakResult): ResultRow[] {
  return [
    {
      measure: `soak, ${whole(result.offeredPerSecond)}/s for ${whole(result.seconds)} s: RSS start / end`,
      result: `${figure(result.rssStartMb)} / ${figure(result.rssEndMb)} MB`,
      target: '',
    },
    {
      measure: '  peak RSS',
      result: `${figure(result.peakRssMb)} MB`,
      target: `<= ${TARGETS.peakRssMbAll} MB`,
      met: result.peakRssMb <= TARGETS.peakRssMbAll,
    },
    {
      measure: '  growth (whole soak / second half)',
      result: `${result.growthMbPerMinute.toFixed(2)} / ${result.growthMbPerMinuteSecondHalf.toFixed(2)} MB/min`,
      target: '',
    },
    {
      measure: '  delivered; latency p50 / p99',
      result: `${whole(result.delivered)} of ${whole(result.orders)}; ${whole(result.latencyP50Ms)} / ${whole(result.latencyP99Ms)} ms`,
      target: '',
    },
  ];
}

async function main(): Promise<void> {
  const began = Date.now();
  const results: {
    date: string;
    node: string;
    cpus: number;
    options: typeof options;
    throughput: ThroughputResult[];
    view?: OrdersViewResult;
    rebuild?: RebuildResult;
    soak?: SoakResult;
    seconds?: number;
  } = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, options, throughput: [] };
  const rows: ResultRow[] = [];

  if (options.phases.includes('partitions')) {
    for (const partitions of options.partitions) results.throughput.push(await throughput('all', partitions));
  }
  if (options.phases.includes('roles')) results.throughput.push(await throughput('roles', 4));
  rows.push(...throughputRows(results.throughput));

  if (options.phases.includes('view')) {
    console.log(`orders view with ${whole(options.viewOrders)} orders...`);
    results.view = await withBroker((bootstrapServers, workDir) =>
      measureOrdersView({
        bootstrapServers,
        partitions: 4,
        orders: options.viewOrders,
        customerOrders: 100,
        samples: options.viewSamples,
        workDir,
        log: (line) => console.log(`  ${line}`),
      }),
    );
    rows.push(...viewRows(results.view));
  }
  if (options.phases.includes('rebuild')) {
    console.log(`rebuilding the view from ${whole(options.rebuildOrders)} orders on Kafka...`);
    results.rebuild = await withBroker((bootstrapServers, workDir) =>
      measureRebuild({ bootstrapServers, orders: options.rebuildOrders, partitions: 4, workDir }),
    );
    rows.push(...rebuildRows(results.rebuild));
  }
  if (options.phases.includes('soak')) {
    results.soak = await soak();
    rows.push(...soakRows(results.soak));
  }
  results.seconds = (Date.now() - began) / 1000;

  console.log(`\n${results.cpus} cores shared by the broker, the load generator and the shop`);
  console.log(formatTable(rows, 'target (issue 10)'));
  mkdirSync(resultsDir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const file = join(resultsDir, `scale-${stamp(results.date)}.json`);
  writeFileSync(file, json);
  writeFileSync(join(resultsDir, 'scale.json'), json);
  console.log(`\nwritten to ${file} and bench-results/scale.json (took ${whole(results.seconds)} s)`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
