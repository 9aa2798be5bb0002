import type { Logger } from 'pino';
import type { Bus } from '../adapters/bus/bus.js';
import type { ShopMetrics } from '../adapters/metrics/shop-metrics.js';
import type { RoleName, Settings } from '../config/settings.js';
import type { Clock } from '../domain/clock.js';
import type { ShopStores } from './shop-stores.js';

/** What every role is built from. */
export interface RoleDeps {
  bus: Bus;
  settings: Settings;
  log: Logger;
  clock: Clock;
  metrics: ShopMetrics;
  /** The process's SQLite stores, each file opened once; closed by whoever made them. */
  stores: ShopStores;
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
