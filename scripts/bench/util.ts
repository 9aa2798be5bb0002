import { type AddressInfo, createServer } from 'node:net';

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** The nearest-rank percentile of values sorted ascending; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

export function sortedNumbers(values: Iterable<number>): number[] {
  return [...values].filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
}

/** Least-squares slope of y over x; NaN with fewer than two points. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
  if (points.length < 2) return Number.NaN;
  const meanX = points.reduce((sum, point) => sum + point.x, 0) / points.length;
  const meanY = points.reduce((sum, point) => sum + point.y, 0) / points.length;
  let covariance = 0;
  let variance = 0;
  for (const point of points) {
    covariance += (point.x - meanX) * (point.y - meanY);
    variance += (point.x - meanX) ** 2;
  }
  return variance === 0 ? Number.NaN : covariance / variance;
}

/** A whole number with thousands separators, as the README writes them: 6,800. */
export function whole(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** One decimal for small figures, whole numbers with separators otherwise. */
export function figure(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return Math.abs(value) < 10 ? value.toFixed(1) : whole(value);
}

export function percent(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(share < 0.1 ? 1 : 0)} %` : 'n/a';
}

/** A number from the environment, or the default; a bad value stops the bench with the variable's name. */
export function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}=${raw} is not a number >= 0`);
  return value;
}

/** A file-name-safe stamp of a date: 2025-01-31T12-00-00-000Z. */
export function stamp(date: string): string {
  return date.replace(/[:.]/g, '-');
}
