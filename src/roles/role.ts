import type { Logger } from 'pino';
import type { Bus } from '../adapters/bus/bus.js';
import type { ShopMetrics } from '../adapters/metrics/shop-metrics.js';
import type { RoleName, Settings } from '../config/settings.js';
import type { Clock } from '../domain/clock.js';

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
