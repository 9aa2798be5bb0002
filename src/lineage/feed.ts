import type { Logger } from 'pino';
import { buildLineage, type LineageModel, type LineageSample } from './model.js';
import type { LineageSource } from './observations.js';
import type { LineagePlan } from './plan.js';

/** Lineage is read from the bus at most this often, however many people look. */
export const LINEAGE_POLL_MS = 2_000;
/** With nobody looking for this long, the poller lets go of its Kafka clients. */
const IDLE_MS = 60_000;

/** The figures from the bus, or why there are none. */
export interface LineageSnapshot {
  model: LineageModel | undefined;
  error: string | undefined;
}

/**
 * One poller per process, shared by every viewer: it opens its source when
 * someone looks, reads it at most once per interval (every viewer in between
 * gets the same snapshot), and closes it after a minute without viewers.
 */
export class LineageFeed {
  private source: LineageSource | undefined;
  private latest: LineageSnapshot | undefined;
  private latestAt = 0;
  private previous: LineageSample | undefined;
  private polling: Promise<LineageSnapshot> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly options: {
      plan: LineagePlan;
      open: () => Promise<LineageSource>;
      log: Logger;
      intervalMs?: number;
      idleMs?: number;
      now?: () => number;
    },
  ) {}

  current(): Promise<LineageSnapshot> {
    const now = this.now();
    this.keepAwake();
    if (this.latest && now - this.latestAt < (this.options.intervalMs ?? LINEAGE_POLL_MS)) {
      return Promise.resolve(this.latest);
    }
    this.polling ??= this.poll().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  /** Whether a source is open now (someone looked within the idle time). */
  get open(): boolean {
    return this.source !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    await this.polling?.catch(() => {});
    await this.release();
  }

  private async poll(): Promise<LineageSnapshot> {
    try {
      if (this.closed) throw new Error('the web app is closing');
      this.source ??= await this.options.open();
      const observations = await this.source.observe();
      const model = buildLineage(observations, this.options.plan, this.previous);
      this.previous = model.sample;
      this.latest = { model, error: undefined };
    } catch (err) {
      this.options.log.warn({ err }, 'could not read the stream lineage');
      const reason = err instanceof Error ? err.message : String(err);
      // The last figures stay on screen, marked as stale, rather than nothing.
      this.latest = { model: this.latest?.model, error: `The figures could not be read just now: ${reason}` };
    }
    this.latestAt = this.now();
    return this.latest;
  }

  private keepAwake(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.release(), this.options.idleMs ?? IDLE_MS);
    this.idleTimer.unref();
  }

  private async release(): Promise<void> {
    const source = this.source;
    this.source = undefined;
    this.previous = undefined;
    this.latest = undefined;
    await source?.close().catch((err: unknown) => this.options.log.debug({ err }, 'lineage source did not close'));
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
