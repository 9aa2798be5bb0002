/** Issue 18's targets for `npm run bench` on the 2-core build machine (a benchmark, not a timed test). */
export const TARGETS = {
  /** CPU time per order during the sustained phase, in ms: the shop's processes, and the broker's JVM. */
  shopCpuMsPerOrder: 0.6,
  brokerCpuMsPerOrder: 0.4,
  /** Sustained orders/s through the web POST path, as a share of the Kafka client's ceiling in the same run. */
  shareOfCeiling: 0.12,
  /** End-to-end p99 at this offered rate (a guard against regressions). */
  latencyRate: 200,
  p99Ms: 50,
  /** End-to-end p99 at the high offered rate. */
  highRate: 1_000,
  highP99Ms: 100,
  /** RSS of `pizza all` on Kafka after start and a quiet settle, before any load. */
  idleRssMbAll: 90,
  /** Peak RSS of `pizza all` as one process. */
  peakRssMbAll: 150,
  /** Exactly-once sustained throughput as a share of at-least-once's, on the same broker. */
  exactlyOnceShare: 0.8,
  /** Exactly-once p50 / p99 at 200/s before issue 18 (docs/benchmarks.md, issue 10's run): no worse than this. */
  exactlyOnceP99MsBefore: 482,
  /** Issue 10's, kept for `bench:scale`: peak RSS of each role on its own (`pizza serve`, `assemble`, ...). */
  peakRssMbRole: 100,
  /** Issue 10's, kept for `bench:scale`: when the shop runs as several processes, the sum over them. */
  peakRssMbTree: 300,
} as const;

/** One line of a results table; `met` is undefined where there is no target. */
export interface ResultRow {
  measure: string;
  result: string;
  target: string;
  met?: boolean | undefined;
}

export function verdict(met: boolean | undefined): string {
  if (met === undefined) return '';
  return met ? 'met' : 'not met';
}

/** The table as text, one row a line, for the terminal. */
export function formatTable(rows: readonly ResultRow[], targetHeader = 'target (issue 18)'): string {
  const header: ResultRow = { measure: 'measure', result: 'result', target: targetHeader };
  const all = [header, ...rows];
  const measureWidth = Math.max(...all.map((row) => row.measure.length)) + 2;
  const resultWidth = Math.max(...all.map((row) => row.result.length)) + 2;
  const targetWidth = Math.max(...all.map((row) => row.target.length)) + 2;
  return all
    .map((row, index) =>
      `${row.measure.padEnd(measureWidth)}${row.result.padEnd(resultWidth)}${row.target.padEnd(targetWidth)}${
        index === 0 ? '' : verdict(row.met)
      }`.trimEnd(),
    )
    .join('\n');
}
