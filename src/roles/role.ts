import type { Logger } from 'pino';
import type { Bus } from '../adapters/bus/bus.js';
import type { ShopMetrics } from '../adapters/metrics/shop-metrics.js';
import type { RoleName, Settings } from '../config/settings.js';

export interface Clock {
  now(): number;
  /** Waits `ms`; rejects with an AbortError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (ms <= 0) return resolve();
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** What every role is built from. */
export interface RoleDeps {
  bus: Bus;
  settings: Settings;
  log: Logger;
  clock: Clock;
  metrics: ShopMetrics;
}

export interface Role {
  readonly name: RoleName;
  start(): Promise<void>;
  /** Stops taking work, hands back or finishes what is in flight, commits, closes. Idempotent. */
  stop(): Promise<void>;
  /** Undefined when ready for work; else why not, for the readiness probe. */
  readiness?(): string | undefined;
  /** Brings on-demand gauges up to date before a scrape. */
  refreshMetrics?(): Promise<void>;
}

/** How long a stopping role lets simulated work finish before handing it back. */
export const SHUTDOWN_GRACE_MS = 3_000;
