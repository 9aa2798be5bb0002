/**
 * `npm run bench`: the shop on a real local Kafka broker at time scale 0,
 * measured against what the same machine can do without it (issue 18's targets).
 *
 * Starts Apache Kafka (tools/kafka/broker.ts), then, in one run:
 *   1. the Kafka client's ceiling: the same library, producer settings, broker
 *      and partition count as the shop, with messages of the shop's own events;
 *      produce rate P and consume rate C, and 1 / (4/P + 8/C) orders/s;
 *   2. the web path's ceiling: a bare fastify route hit by the same load generator;
 *   3. the shop, once per processing mode asked for (`--modes at-least-once|exactly-once|both`),
 *      each on topics of its own: `pizza all` from dist/ as a child process (so its
 *      memory is its own), orders placed through the web app's real login + CSRF +
 *      POST /orders path, delivery read from the orders view (SQLite, read-only):
 *        - idle RSS after start and a quiet settle, Kafka clients (`rdk:main` threads) and threads;
 *        - sustained orders/s: BENCH_ORDERS orders placed as fast as BENCH_CLIENTS
 *          customers can, until every one is delivered in the view, and CPU per order;
 *        - end-to-end latency p50/p95/p99 at BENCH_RATE orders/s offered for
 *          BENCH_SECONDS, then at BENCH_RATE_HIGH for BENCH_SECONDS_HIGH (from the
 *          customer's POST to "delivered" in the view);
 *        - peak RSS (VmHWM) of `pizza all`, and of any processes it starts;
 *   4. with `--embedded`, the same shop phases on `pizza all` with no config (the embedded bus).
 * With `--contracts` (or BENCH_CONTRACTS=1) the Kafka shops run with issue 22's data contracts on:
 * `value_format = avro` against a Schema Registry (Apicurio, tools/registry) the bench starts.
 * Prints a table with issue 18's targets, writes bench-results/latest.json,
 * bench-results/report.html (charts, inline SVG) and bench-results/bench-report.svg.
 * Only when asked (`npm run bench -- --docs`, or BENCH_DOCS=1) does it also
 * replace docs/bench-report.svg: a run to try something leaves the tree clean.
 *
 * BENCH_CPU_PROF=1 writes a V8 CPU profile of each `pizza all` to bench-results/.
 * BENCH_SKIP_CEILINGS=1 leaves out steps 1 and 2 (for profiling the shop alone).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startKafkaBroker } from '../tools/kafka/broker.js';
import { type SchemaRegistry, startSchemaRegistry } from '../tools/registry/apicurio.js';
import { findProcess } from './bench/cpu.js';
import { type KafkaCeiling, measureKafkaCeiling } from './bench/kafka-ceiling.js';
import { readmeSvg, reportHtml } from './bench/report.js';
import { type BenchResults, benchRows } from './bench/results.js';
import {
  type Processing,
  repoRoot,
  resultsDir,
  type ShopBus,
  type ShopProcesses,
  startShop,
} from './bench/shop-process.js';
import { measureShop, type ShopRun } from './bench/shop-run.js';
import { formatTable, TARGETS } from './bench/targets.js';
import { envNumber, stamp, whole } from './bench/util.js';
import { measureWebCeiling, type WebCeiling } from './bench/web-ceiling.js';

const env = process.env;
const argv = process.argv.slice(2);

/** `--name value` or `--name=value` from the command line. */
function flag(name: string): string | undefined {
  const index = argv.findIndex((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
  if (index < 0) return undefined;
  const arg = argv[index] as string;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[index + 1];
}

/** Which processing modes to run the shop in, from `--modes` or BENCH_MODES (BENCH_PROCESSING still works). */
function processingModes(): Processing[] {
  const raw = flag('modes') ?? env.BENCH_MODES ?? env.BENCH_PROCESSING ?? 'at-least-once';
  if (raw === 'both') return ['at-least-once', 'exactly-once'];
  const modes = raw.split(',').map((mode) => mode.trim());
  for (const mode of modes) {
    if (mode !== 'at-least-once' && mode !== 'exactly-once') {
      throw new Error(`--modes ${raw}: give at-least-once, exactly-once or both`);
    }
  }
  return modes as Processing[];
}

const options = {
  orders: envNumber(env, 'BENCH_ORDERS', 5_000),
  clients: envNumber(env, 'BENCH_CLIENTS', 32),
  rate: envNumber(env, 'BENCH_RATE', TARGETS.latencyRate),
  seconds: envNumber(env, 'BENCH_SECONDS', 15),
  highRate: envNumber(env, 'BENCH_RATE_HIGH', TARGETS.highRate),
  highSeconds: envNumber(env, 'BENCH_SECONDS_HIGH', 15),
  highDrainSeconds: envNumber(env, 'BENCH_HIGH_DRAIN', 30),
  idleSettleSeconds: envNumber(env, 'BENCH_IDLE_SETTLE', 10),
  partitions: envNumber(env, 'BENCH_PARTITIONS', 4),
  ceilingMessages: envNumber(env, 'BENCH_CEILING_MESSAGES', 300_000),
  ceilingSendSize: envNumber(env, 'BENCH_CEILING_SEND_SIZE', 1_000),
  ceilingInFlight: envNumber(env, 'BENCH_CEILING_IN_FLIGHT', 4),
  webSeconds: envNumber(env, 'BENCH_WEB_SECONDS', 5),
  cpuProfile: env.BENCH_CPU_PROF === '1',
  skipCeilings: env.BENCH_SKIP_CEILINGS === '1',
  modes: processingModes(),
  embedded: argv.includes('--embedded') || env.BENCH_EMBEDDED === '1',
  contracts: argv.includes('--contracts') || env.BENCH_CONTRACTS === '1',
  docs: argv.includes('--docs') || env.BENCH_DOCS === '1',
};

const seconds = (since: number) => (Date.now() - since) / 1000;

async function main(): Promise<void> {
  const began = Date.now();
  const durations: Record<string, number> = {};
  const work = mkdtempSync(join(tmpdir(), 'pizza-bench-'));
  const broker = await startKafkaBroker({ log: (line) => line.startsWith('kafka:') && console.log(line) });
  durations.broker = seconds(began);
  let shop: ShopProcesses | undefined;
  let registry: SchemaRegistry | undefined;
  try {
    if (options.contracts) {
      registry = await startSchemaRegistry();
      durations.registry = seconds(began) - durations.broker;
    }
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

    mkdirSync(resultsDir, { recursive: true });
    const brokerPid = findProcess(dirname(broker.serverLog));
    const runs: ShopRun[] = [];
    const shops: Array<{ bus: ShopBus; processing: Processing }> = [
      ...options.modes.map((processing) => ({ bus: 'kafka' as const, processing })),
      ...(options.embedded ? [{ bus: 'embedded' as const, processing: 'at-least-once' as const }] : []),
    ];
    for (const [index, { bus, processing }] of shops.entries()) {
      const contracts = bus === 'kafka' && registry !== undefined;
      const name = bus === 'kafka' ? `Kafka, ${processing}${contracts ? ', Avro contracts' : ''}` : 'the embedded bus';
      const started = Date.now();
      console.log(`the shop on ${name}:`);
      shop = await startShop({
        bus,
        bootstrapServers: broker.bootstrapServers,
        partitions: options.partitions,
        processing,
        layout: 'all',
        workDir: join(work, `shop-${index}`),
        // Each further Kafka shop starts on empty topics of its own, not on the last one's backlog.
        topicSuffix: bus === 'kafka' && index > 0 ? `-${index}` : undefined,
        nodeArgs: options.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`] : [],
        ...(contracts ? { extraIni: ['value_format = avro', '[schema-registry]', `url = ${registry?.url}`] } : {}),
      });
      runs.push(
        await measureShop(shop, { name, bus, processing }, options, bus === 'kafka' ? brokerPid : undefined, (line) =>
          console.log(line),
        ),
      );
      await shop.stop();
      shop = undefined;
      durations[bus === 'kafka' ? processing : 'embedded'] = seconds(started);
    }

    const results: BenchResults = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      partitions: options.partitions,
      kafkaCeiling,
      webCeiling,
      runs,
      targets: TARGETS,
      durations: { ...durations, total: seconds(began) },
    };
    const rows = benchRows(results);
    console.log(
      `\n${runs.map((run) => run.name).join('; ')}: ${results.cpus} cores shared by the broker, the load and the shop`,
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
    await registry?.stop();
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
