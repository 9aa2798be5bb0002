/** Issue 10's targets for `npm run bench` on the 2-core build machine (a benchmark, not a timed test). */
export const TARGETS = {
  /** Sustained orders/s through the web app's real POST path, delivered in the view. */
  ordersPerSecond: 2_000,
  /** The same, as a share of the Kafka client's ceiling measured in the same run. */
  shareOfCeiling: 0.3,
  /** End-to-end p99 at this offered rate. */
  latencyRate: 200,
  p99Ms: 50,
  /** Peak RSS of `pizza all` as one process. */
  peakRssMbAll: 150,
  /** Peak RSS of each role on its own (`pizza serve`, `assemble`, ...). */
  peakRssMbRole: 100,
  /** When `pizza all` starts child processes: the sum over them. */
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
export function formatTable(rows: readonly ResultRow[]): string {
  const header: ResultRow = { measure: 'measure', result: 'result', target: 'target (issue 10)' };
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
