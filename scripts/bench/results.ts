import type { CpuPerOrder } from './cpu.js';
import type { KafkaCeiling } from './kafka-ceiling.js';
import type { LatencyPhase, ShopRun } from './shop-run.js';
import { type ResultRow, TARGETS } from './targets.js';
import type { ThreadCount } from './threads.js';
import { figure, percent, whole } from './util.js';
import type { WebCeiling } from './web-ceiling.js';

/** What `npm run bench` writes to bench-results/*.json and draws in the report. */
export interface BenchResults {
  date: string;
  node: string;
  cpus: number;
  partitions: number;
  kafkaCeiling: KafkaCeiling;
  webCeiling: WebCeiling;
  /** Each shop measured, in the order run: the first is the one the charts show. */
  runs: ShopRun[];
  targets: typeof TARGETS;
  /** Wall time of each part of the bench, in seconds. */
  durations: Record<string, number>;
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');

/** "p50 / p95 / p99 ms", and for a shop that fell behind, how much of the offer it delivered. */
function latencyResult(phase: LatencyPhase): string {
  const figures = `${whole(phase.p50Ms)} / ${whole(phase.p95Ms)} / ${whole(phase.p99Ms)} ms`;
  const failed = phase.failed > 0 ? `, ${whole(phase.failed)} POSTs failed` : '';
  return phase.delivered < phase.orders || phase.failed > 0
    ? `${figures} (of the ${whole(phase.delivered)} delivered${failed})`
    : figures;
}

function threadsResult(threads: ThreadCount | undefined): string {
  return threads ? `${threads.kafkaClients} / ${threads.threads}` : 'n/a';
}

/** The rows every shop run gets; targets apply to the Kafka runs as issue 18 words them. */
function runRows(run: ShopRun, ceiling: KafkaCeiling, web: WebCeiling, cores: number, prefix: string): ResultRow[] {
  const { throughput, latency, highRate, memory, threads } = run;
  const onKafka = run.bus === 'kafka';
  const share = throughput.deliveredPerSecond / ceiling.ordersPerSecond;
  const cpu: CpuPerOrder = throughput.cpuPerOrder;
  const rows: ResultRow[] = [
    {
      measure: `${prefix}sustained throughput (${whole(throughput.orders)} orders)`,
      result: `${whole(throughput.deliveredPerSecond)} orders/s`,
      target: '',
    },
    {
      measure: `${prefix}  share of the Kafka client ceiling`,
      result: percent(share),
      target: onKafka ? `>= ${percent(TARGETS.shareOfCeiling)}` : '',
      met: onKafka && Number.isFinite(share) ? share >= TARGETS.shareOfCeiling : undefined,
    },
    {
      measure: `${prefix}  orders accepted by the web app (POST)`,
      result: `${whole(throughput.acceptedPerSecond)} orders/s (${percent(throughput.acceptedPerSecond / web.perSecond)} of the bare route)`,
      target: '',
    },
    {
      measure: `${prefix}  CPU per order: shop / broker / load`,
      result: `${ms(cpu.shopMs)} / ${ms(cpu.brokerMs)} / ${ms(cpu.loadMs)} ms`,
      target: onKafka ? `<= ${TARGETS.shopCpuMsPerOrder} / ${TARGETS.brokerCpuMsPerOrder} ms` : '',
      met: onKafka ? cpu.shopMs <= TARGETS.shopCpuMsPerOrder && cpu.brokerMs <= TARGETS.brokerCpuMsPerOrder : undefined,
    },
    {
      measure: `${prefix}  what ${cores} cores allow at that cost`,
      result: `${whole(cpu.cpuBoundOrdersPerSecond)} orders/s`,
      target: '',
    },
    {
      measure: `${prefix}latency p50 / p95 / p99 @ ${whole(latency.offeredPerSecond)}/s offered`,
      result: latencyResult(latency),
      target: `p99 <= ${TARGETS.p99Ms} ms at ${TARGETS.latencyRate}/s`,
      met: latency.offeredPerSecond === TARGETS.latencyRate ? latency.p99Ms <= TARGETS.p99Ms : undefined,
    },
  ];
  if (highRate) {
    const allDelivered = highRate.delivered === highRate.orders && highRate.failed === 0;
    rows.push(
      {
        measure: `${prefix}latency p50 / p95 / p99 @ ${whole(highRate.offeredPerSecond)}/s offered`,
        result: latencyResult(highRate),
        target: `p99 <= ${TARGETS.highP99Ms} ms at ${whole(TARGETS.highRate)}/s`,
        met:
          highRate.offeredPerSecond === TARGETS.highRate
            ? allDelivered && highRate.p99Ms <= TARGETS.highP99Ms
            : undefined,
      },
      {
        measure: `${prefix}  sent / delivered at ${whole(highRate.offeredPerSecond)}/s offered`,
        result: `${whole(highRate.achievedOfferPerSecond)} / ${whole(highRate.deliveredPerSecond)} orders/s, ${whole(highRate.delivered)} of ${whole(highRate.orders + highRate.failed)} delivered`,
        target: '',
      },
    );
  }
  rows.push(
    {
      measure: `${prefix}idle RSS of pizza all (after start, before load)`,
      result: `${figure(memory.idleRssMb)} MB`,
      target: onKafka ? `<= ${TARGETS.idleRssMbAll} MB` : '',
      met: onKafka ? memory.idleRssMb <= TARGETS.idleRssMbAll : undefined,
    },
    {
      measure: `${prefix}peak RSS of pizza all (the process)`,
      result: `${figure(memory.peakRssMb)} MB`,
      target: onKafka ? `<= ${TARGETS.peakRssMbAll} MB` : '',
      met: onKafka ? memory.peakRssMb <= TARGETS.peakRssMbAll : undefined,
    },
  );
  if (memory.processes > 1) {
    rows.push({
      measure: `${prefix}  the process tree (${memory.processes} processes, sum of peaks)`,
      result: `${figure(memory.treePeakMb)} MB`,
      target: '',
    });
  }
  rows.push({
    measure: `${prefix}Kafka clients / threads: idle, under load`,
    result: `${threadsResult(threads.idle)}, ${threadsResult(threads.peak)}`,
    target: '',
  });
  return rows;
}

/** Exactly-once against at-least-once on the same broker and ceiling. */
function exactlyOnceRows(exactly: ShopRun, atLeast: ShopRun): ResultRow[] {
  const share = exactly.throughput.deliveredPerSecond / atLeast.throughput.deliveredPerSecond;
  return [
    {
      measure: 'exactly-once: sustained, share of at-least-once',
      result: `${whole(exactly.throughput.deliveredPerSecond)} orders/s, ${percent(share)}`,
      target: `>= ${percent(TARGETS.exactlyOnceShare)}`,
      met: share >= TARGETS.exactlyOnceShare,
    },
    {
      measure: `  p50 / p99 @ ${whole(exactly.latency.offeredPerSecond)}/s: exactly-once, at-least-once`,
      result: `${whole(exactly.latency.p50Ms)} / ${whole(exactly.latency.p99Ms)} ms, ${whole(atLeast.latency.p50Ms)} / ${whole(atLeast.latency.p99Ms)} ms`,
      target: `p99 <= ${TARGETS.exactlyOnceP99MsBefore} ms (before)`,
      met:
        exactly.latency.offeredPerSecond === TARGETS.latencyRate
          ? exactly.latency.p99Ms <= TARGETS.exactlyOnceP99MsBefore
          : undefined,
    },
  ];
}

/** The embedded bus beside Kafka: the figures a newcomer's first run gives. */
function embeddedRows(embedded: ShopRun, kafka: ShopRun | undefined): ResultRow[] {
  const beside = (own: string, other: string | undefined) => (other === undefined ? own : `${own}, Kafka ${other}`);
  const high = embedded.highRate;
  return [
    {
      measure: 'embedded bus (pizza all, no config): sustained',
      result: beside(
        `${whole(embedded.throughput.deliveredPerSecond)} orders/s`,
        kafka && `${whole(kafka.throughput.deliveredPerSecond)}`,
      ),
      target: '',
    },
    {
      measure: '  CPU per order: shop',
      result: beside(
        `${ms(embedded.throughput.cpuPerOrder.shopMs)} ms`,
        kafka && ms(kafka.throughput.cpuPerOrder.shopMs),
      ),
      target: '',
    },
    {
      measure: `  p50 / p99 @ ${whole(embedded.latency.offeredPerSecond)}/s`,
      result: beside(
        `${whole(embedded.latency.p50Ms)} / ${whole(embedded.latency.p99Ms)} ms`,
        kafka && `${whole(kafka.latency.p50Ms)} / ${whole(kafka.latency.p99Ms)}`,
      ),
      target: '',
    },
    ...(high
      ? [
          {
            measure: `  p50 / p99 @ ${whole(high.offeredPerSecond)}/s, delivered/s`,
            result: beside(
              `${whole(high.p50Ms)} / ${whole(high.p99Ms)} ms, ${whole(high.deliveredPerSecond)}/s`,
              kafka?.highRate &&
                `${whole(kafka.highRate.p50Ms)} / ${whole(kafka.highRate.p99Ms)}, ${whole(kafka.highRate.deliveredPerSecond)}/s`,
            ),
            target: '',
          },
        ]
      : []),
    {
      measure: '  RSS idle / peak',
      result: beside(
        `${figure(embedded.memory.idleRssMb)} / ${figure(embedded.memory.peakRssMb)} MB`,
        kafka && `${figure(kafka.memory.idleRssMb)} / ${figure(kafka.memory.peakRssMb)}`,
      ),
      target: '',
    },
    {
      measure: '  threads: idle, under load',
      result: `${embedded.threads.idle?.threads ?? 'n/a'}, ${embedded.threads.peak?.threads ?? 'n/a'}`,
      target: '',
    },
  ];
}

export function benchRows(results: BenchResults): ResultRow[] {
  const { kafkaCeiling: ceiling, webCeiling: web } = results;
  const rows: ResultRow[] = [
    {
      measure: `Kafka client: produce P (${ceiling.partitions} partitions)`,
      result: `${whole(ceiling.produce.perSecond)} msg/s`,
      target: '',
    },
    { measure: 'Kafka client: consume C (eachBatch)', result: `${whole(ceiling.consume.perSecond)} msg/s`, target: '' },
    { measure: 'ceiling 1 / (4/P + 8/C)', result: `${whole(ceiling.ordersPerSecond)} orders/s`, target: '' },
    {
      measure: `bare fastify route, ${web.clients} clients`,
      result: `${whole(web.perSecond)} req/s (bare node:http client: ${whole(web.rawHttpPerSecond)})`,
      target: '',
    },
  ];
  const kafkaRuns = results.runs.filter((run) => run.bus === 'kafka');
  const atLeast = kafkaRuns.find((run) => run.processing === 'at-least-once');
  const exactly = kafkaRuns.find((run) => run.processing === 'exactly-once');
  // The first Kafka run gets the full table; with both modes, exactly-once is compared with it.
  const first = kafkaRuns[0];
  if (first) rows.push(...runRows(first, ceiling, web, results.cpus, ''));
  if (exactly && atLeast) rows.push(...exactlyOnceRows(exactly, atLeast));
  const embedded = results.runs.find((run) => run.bus === 'embedded');
  if (embedded) {
    rows.push(...(first ? embeddedRows(embedded, first) : runRows(embedded, ceiling, web, results.cpus, '')));
  }
  return rows;
}
