import type { Logger } from 'pino';
import type { BusRecord, RecordHandler } from './bus.js';
import { OffsetTracker } from './offset-tracker.js';

export interface DispatcherOptions {
  capacity: number;
  handle: RecordHandler;
  /** Called with the next offset to read once every record before it is done. */
  commit: (topic: string, partition: number, nextOffset: string) => void;
  log: Logger;
  /** Back-off between attempts of a failing record: first and ceiling, in ms. */
  retryDelayMs?: { initial: number; max: number };
}

/**
 * Runs a bus's records through a handler, up to `capacity` at once, and
 * acknowledges in partition order. Both bus implementations feed it, so they
 * share one definition of concurrency, retries and at-least-once commits.
 * Records with the same key never run at the same time, so per-key order holds.
 */
export class Dispatcher {
  private readonly tracker = new OffsetTracker();
  private readonly running = new Set<Promise<void>>();
  private readonly keyTails = new Map<string, Promise<void>>();
  private readonly slotWaiters: Array<() => void> = [];
  private readonly revoked = new Set<string>();
  private active = 0;
  private stopping = false;

  constructor(private readonly options: DispatcherOptions) {}

  /**
   * Resolves once the record has been taken on, which may wait for a free slot;
   * false when it was not (we are stopping, or `stillOwned`, asked after the
   * wait, says the partition moved). A record not taken must be read again.
   */
  async dispatch(record: BusRecord, stillOwned: () => boolean = () => true): Promise<boolean> {
    if (this.stopping) return false;
    while (this.active >= this.options.capacity) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      if (this.stopping) return false;
    }
    if (!stillOwned()) {
      // We were woken for a free slot we will not use: pass it on, or its next taker sleeps forever.
      if (this.active < this.options.capacity) this.slotWaiters.shift()?.();
      return false;
    }
    this.active += 1;
    this.revoked.delete(OffsetTracker.key(record.topic, record.partition));
    this.tracker.start(record.topic, record.partition, record.offset);

    const keyTail = record.key === null ? undefined : this.keyTails.get(record.key);
    const work = (async () => {
      if (keyTail) await keyTail;
      const completed = await this.runWithRetries(record);
      if (completed) this.acknowledge(record);
    })().finally(() => {
      this.active -= 1;
      this.running.delete(work);
      if (record.key !== null && this.keyTails.get(record.key) === work) this.keyTails.delete(record.key);
      this.slotWaiters.shift()?.();
    });
    this.running.add(work);
    if (record.key !== null) this.keyTails.set(record.key, work);
    return true;
  }

  /** A partition was taken away: its unfinished records are the next owner's. */
  revoke(topic: string, partition: number): void {
    this.revoked.add(OffsetTracker.key(topic, partition));
    this.tracker.forget(topic, partition);
  }

  /** Stops taking records and waits up to `graceMs` for those in flight. */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const wake of this.slotWaiters.splice(0)) wake();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.allSettled([...this.running]), timeout]);
    clearTimeout(timer);
  }

  private acknowledge(record: BusRecord): void {
    if (this.revoked.has(OffsetTracker.key(record.topic, record.partition))) return;
    const next = this.tracker.finish(record.topic, record.partition, record.offset);
    if (next !== undefined) this.options.commit(record.topic, record.partition, next);
  }

  /** True when the handler succeeded; false when we stopped before it could. */
  private async runWithRetries(record: BusRecord): Promise<boolean> {
    const { initial, max } = this.options.retryDelayMs ?? { initial: 100, max: 5_000 };
    let delay = initial;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.options.handle(record);
        return true;
      } catch (err) {
        if (this.stopping) return false;
        this.options.log.warn(
          {
            err,
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            orderId: record.key,
            attempt,
          },
          'handler failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, max);
        if (this.stopping) return false;
      }
    }
  }
}
