/**
 * `npm run bench:soak`: does `pizza all` on Kafka hold its memory under a steady
 * load? (issue 18, part 4). A fresh local broker, `pizza all` at BENCH_SOAK_RATE
 * orders/s (200) for BENCH_SOAK_MINUTES (30), with the view's and delivery's
 * retention at BENCH_SOAK_RETENTION_MINUTES (6), so that retention deletes old
 * orders during the run as it does in production, where the defaults are 4 h.
 * Every 5 s: the RSS of the process tree (/proc) and the V8 heap in use (the
 * shop's own /metrics on its operator port). The growth is the least-squares
 * slope of each, in MB a minute, from BENCH_SOAK_FROM_MINUTE (5) to the end:
 * the first minutes are warm-up (JIT, caches, SQLite pages), not a trend.
 * Writes bench-results/soak.json and bench-results/soak.svg; with `--docs` (or
 * BENCH_DOCS=1) also docs/bench-soak.svg.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafkaBroker } from '../tools/kafka/broker.js';
import { customers, DeliveryWatch, openLoop, PIZZA } from './bench/load.js';
import { MemorySampler } from './bench/memory.js';
import { repoRoot, resultsDir, startShop } from './bench/shop-process.js';
import { stackedCharts } from './bench/svg-chart.js';
import { envNumber, freePort, percentile, slope, sortedNumbers, stamp } from './bench/util.js';

const env = process.env;
const options = {
  minutes: envNumber(env, 'BENCH_SOAK_MINUTES', 30),
  rate: envNumber(env, 'BENCH_SOAK_RATE', 200),
  fromMinute: envNumber(env, 'BENCH_SOAK_FROM_MINUTE', 5),
  retentionMinutes: envNumber(env, 'BENCH_SOAK_RETENTION_MINUTES', 6),
  clients: envNumber(env, 'BENCH_CLIENTS', 32),
  docs: process.argv.includes('--docs') || env.BENCH_DOCS === '1',
};
const SAMPLE_MS = 5_000;
/** Issue 18's bound on the RSS slope from minute 5 to minute 30. */
const TARGET_MB_PER_MINUTE = 0.1;

interface Point {
  /** Minutes since the load began. */
  minute: number;
  rssMb: number;
  heapUsedMb: number;
}

/** The V8 heap in use, from prom-client's default metrics on the operator port. */
async function heapUsedMb(operatorUrl: string): Promise<number> {
  const text = await fetch(`${operatorUrl}/metrics`).then((response) => response.text());
  const line = text.split('\n').find((each) => each.startsWith('pizza_process_nodejs_heap_size_used_bytes'));
  const bytes = Number(line?.split(' ').at(-1));
  return bytes / 1_048_576;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'pizza-soak-'));
  const broker = await startKafkaBroker();
  const operatorPort = await freePort();
  const retentionHours = String(options.retentionMinutes / 60);
  const shop = await startShop({
    bootstrapServers: broker.bootstrapServers,
    partitions: 4,
    processing: 'at-least-once',
    layout: 'all',
    workDir: work,
    extraIni: [
      `operator_port = ${operatorPort}`,
      '[state-store-orders]',
      `table_orders_retention_hours = ${retentionHours}`,
      `table_status_retention_hours = ${retentionHours}`,
      '[state-store-delivery]',
      `table_customers_retention_hours = ${retentionHours}`,
    ],
  });
  const operatorUrl = `http://127.0.0.1:${operatorPort}`;
  try {
    console.log(
      `soak: pizza all at ${options.rate} orders/s for ${options.minutes} min, retention ${options.retentionMinutes} min...`,
    );
    const clients = await customers(shop.baseUrl, options.clients);
    const watch = new DeliveryWatch(shop.dbFile);
    await watch.waitFor(await Promise.all(clients.map((client) => client.order(PIZZA))), 90_000);
    const origin = Date.now();
    const rss = new MemorySampler(shop.pids, origin, SAMPLE_MS);
    const points: Point[] = [];
    const sample = async () => {
      // Retention deletes delivered orders from the view: note them while they are there.
      watch.poll();
      const memory = rss.sample();
      const heap = await heapUsedMb(operatorUrl).catch(() => Number.NaN);
      points.push({ minute: memory.t / 60, rssMb: memory.totalRssMb, heapUsedMb: heap });
      const last = points.at(-1);
      if (points.length % 12 === 1 && last) {
        console.log(
          `  ${last.minute.toFixed(1)} min: RSS ${last.rssMb.toFixed(0)} MB, heap ${last.heapUsedMb.toFixed(0)} MB`,
        );
      }
    };
    await sample();
    const timer = setInterval(() => void sample(), SAMPLE_MS);
    const run = await openLoop(clients, options.rate, options.minutes * 60);
    clearInterval(timer);
    await sample();
    const ids = run.placed.map((order) => order.orderId);
    await watch.waitFor(ids, 120_000).catch((error: unknown) => console.log(`  ${(error as Error).message}`));
    const delivered = ids.filter((orderId) => watch.delivered.has(orderId)).length;
    const latencies = sortedNumbers(
      run.placed.map((order) => (watch.delivered.get(order.orderId) ?? Number.NaN) - order.sentAt),
    );
    watch.close();

    const trend = points.filter((point) => point.minute >= options.fromMinute);
    const rssSlope = slope(trend.map((point) => ({ x: point.minute, y: point.rssMb })));
    const heapSlope = slope(
      trend
        .filter((point) => Number.isFinite(point.heapUsedMb))
        .map((point) => ({ x: point.minute, y: point.heapUsedMb })),
    );
    const result = {
      when: new Date().toISOString(),
      ...options,
      orders: ids.length,
      delivered,
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      rssStartMb: points[0]?.rssMb,
      rssEndMb: points.at(-1)?.rssMb,
      rssMbPerMinute: rssSlope,
      heapUsedMbPerMinute: heapSlope,
      targetMbPerMinute: TARGET_MB_PER_MINUTE,
      points,
    };
    const fit = `slope from minute ${options.fromMinute}`;
    const lines = [
      `orders placed / delivered: ${ids.length} / ${delivered}; latency p50 / p99: ${Math.round(result.latencyP50Ms)} / ${Math.round(result.latencyP99Ms)} ms`,
      `RSS of the process tree: ${result.rssStartMb?.toFixed(0)} -> ${result.rssEndMb?.toFixed(0)} MB; ${fit}: ${rssSlope.toFixed(3)} MB/min (target <= ${TARGET_MB_PER_MINUTE}: ${rssSlope <= TARGET_MB_PER_MINUTE ? 'met' : 'NOT met'})`,
      `V8 heap in use: ${fit}: ${heapSlope.toFixed(3)} MB/min`,
    ];
    for (const line of lines) console.log(line);

    mkdirSync(resultsDir, { recursive: true });
    const name = `soak-${stamp(result.when)}`;
    writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(resultsDir, 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
    const chart = stackedCharts(
      [
        {
          title: `RSS of pizza all on Kafka, ${options.rate} orders/s (${fit}: ${rssSlope.toFixed(2)} MB/min)`,
          xLabel: 'minutes',
          yLabel: 'MB',
          series: [
            { name: 'RSS', color: '#c0392b', points: points.map((point) => [point.minute, point.rssMb] as const) },
          ],
        },
        {
          title: `V8 heap in use (${fit}: ${heapSlope.toFixed(2)} MB/min)`,
          xLabel: 'minutes',
          yLabel: 'MB',
          series: [
            {
              name: 'heap used',
              color: '#2c7fb8',
              points: points.map(
                (point) => [point.minute, Number.isFinite(point.heapUsedMb) ? point.heapUsedMb : null] as const,
              ),
            },
          ],
        },
      ],
      `npm run bench:soak, ${result.when.slice(0, 10)}: ${options.minutes} min at ${options.rate} orders/s, retention ${options.retentionMinutes} min`,
    );
    const svg = join(resultsDir, 'soak.svg');
    writeFileSync(svg, chart);
    if (options.docs) copyFileSync(svg, join(repoRoot, 'docs', 'bench-soak.svg'));
    console.log(
      `wrote ${join(resultsDir, `${name}.json`)} and ${svg}${options.docs ? ' and docs/bench-soak.svg' : ''}`,
    );
  } finally {
    await shop.stop();
    await broker.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
