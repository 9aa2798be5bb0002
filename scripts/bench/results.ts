import type { CpuPerOrder } from './cpu.js';
import type { KafkaCeiling } from './kafka-ceiling.js';
import type { MemorySample } from './memory.js';
import type { SecondBin } from './series.js';
import { type ResultRow, TARGETS } from './targets.js';
import { figure, percent, whole } from './util.js';
import type { WebCeiling } from './web-ceiling.js';

/** What `npm run bench` writes to bench-results/*.json and draws in the report. */
export interface BenchResults {
  date: string;
  node: string;
  cpus: number;
  partitions: number;
  processing: string;
  kafkaCeiling: KafkaCeiling;
  webCeiling: WebCeiling;
  throughput: {
    orders: number;
    customers: number;
    acceptedPerSecond: number;
    deliveredPerSecond: number;
    seconds: number;
    shareOfCeiling: number;
    /** The order POST's accepted rate as a share of the bare route's requests/s. */
    postShareOfBareRoute: number;
    /** CPU time per order during the sustained phase: a figure a noisy machine changes little. */
    cpuPerOrder?: CpuPerOrder;
  };
  latency: {
    offeredPerSecond: number;
    achievedOfferPerSecond: number;
    orders: number;
    p50Ms: number;
    p95Ms: number;
    p99Ms: number;
    maxMs: number;
  };
  memory: {
    /** VmHWM of the `pizza all` process. */
    peakRssMb: number;
    /** The sum of VmHWM over it and every process it started. */
    treePeakMb: number;
    processes: number;
  };
  /** Seconds since the sustained phase began, as the report's charts count them. */
  phases: { sustained: [number, number]; latency: [number, number] };
  series: SecondBin[];
  memorySamples: MemorySample[];
  targets: typeof TARGETS;
  /** Wall time of each part of the bench, in seconds. */
  durations: Record<string, number>;
}

export function benchRows(results: BenchResults): ResultRow[] {
  const { kafkaCeiling: ceiling, webCeiling: web, throughput, latency, memory } = results;
  const atRate = `@ ${whole(latency.offeredPerSecond)}/s offered`;
  const latencyTarget =
    latency.offeredPerSecond === TARGETS.latencyRate
      ? `p99 <= ${TARGETS.p99Ms} ms`
      : `p99 <= ${TARGETS.p99Ms} ms at ${TARGETS.latencyRate}/s`;
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
      result: `${whole(web.perSecond)} req/s`,
      target: '',
    },
    {
      measure: '  same route, bare node:http client',
      result: `${whole(web.rawHttpPerSecond)} req/s`,
      target: '',
    },
    {
      measure: `sustained throughput (${whole(throughput.orders)} orders)`,
      result: `${whole(throughput.deliveredPerSecond)} orders/s`,
      target: `>= ${whole(TARGETS.ordersPerSecond)} orders/s`,
      met: throughput.deliveredPerSecond >= TARGETS.ordersPerSecond,
    },
    {
      measure: '  share of the ceiling',
      result: percent(throughput.shareOfCeiling),
      target: `>= ${percent(TARGETS.shareOfCeiling)}`,
      met: throughput.shareOfCeiling >= TARGETS.shareOfCeiling,
    },
    {
      measure: '  orders accepted by the web app (POST)',
      result: `${whole(throughput.acceptedPerSecond)} orders/s`,
      target: '',
    },
    { measure: '  POST share of the bare route', result: percent(throughput.postShareOfBareRoute), target: '' },
    ...cpuRows(throughput.cpuPerOrder, results.cpus),
    {
      measure: `latency p50 / p95 / p99 ${atRate}`,
      result: `${whole(latency.p50Ms)} / ${whole(latency.p95Ms)} / ${whole(latency.p99Ms)} ms`,
      target: latencyTarget,
      met: latency.offeredPerSecond === TARGETS.latencyRate ? latency.p99Ms <= TARGETS.p99Ms : undefined,
    },
    {
      measure: 'peak RSS of pizza all (the process)',
      result: `${figure(memory.peakRssMb)} MB`,
      target: `<= ${TARGETS.peakRssMbAll} MB`,
      met: memory.peakRssMb <= TARGETS.peakRssMbAll,
    },
  ];
  // The tree's sum is reported even for one process, so runs with child processes compare with it.
  rows.push({
    measure: `  the process tree (${memory.processes} process${memory.processes === 1 ? '' : 'es'}, sum of peaks)`,
    result: `${figure(memory.treePeakMb)} MB`,
    target: `<= ${TARGETS.peakRssMbTree} MB if several`,
    met: memory.processes > 1 ? memory.treePeakMb <= TARGETS.peakRssMbTree : undefined,
  });
  return rows;
}

/** Where the CPU went per order while the shop ran flat out: the shop, the broker, the load generator. */
function cpuRows(cpu: CpuPerOrder | undefined, cores: number): ResultRow[] {
  if (!cpu) return [];
  const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');
  return [
    {
      measure: '  CPU per order: shop / broker / load',
      result: `${ms(cpu.shopMs)} / ${ms(cpu.brokerMs)} / ${ms(cpu.loadMs)} ms`,
      target: '',
    },
    {
      measure: `  what ${cores} cores allow at that cost`,
      result: `${whole(cpu.cpuBoundOrdersPerSecond)} orders/s`,
      target: '',
    },
  ];
}
