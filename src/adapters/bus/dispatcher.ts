import type { Logger } from 'pino';
import type { DeadLetterReason } from '../../domain/headers.js';
import type { BusRecord, DispatchObserver, FailureKind, RecordHandler, RetryPolicy } from './bus.js';
import { classifyFailure } from './failures.js';
import { OffsetTracker } from './offset-tracker.js';

export interface DispatcherOptions {
  capacity: number;
  handle: RecordHandler;
  /** Called with the next offset to read once every record before it is done. */
  commit: (topic: string, partition: number, nextOffset: string) => void;
  /** Publishes a record that can never be worked on to the dead-letter topic; rejects when it could not. */
  deadLetter: (record: BusRecord, reason: DeadLetterReason, error: unknown) => Promise<void>;
  log: Logger;
  /** Transient failures: attempts before dead-lettering, and the back-off between them. */
  retry?: RetryPolicy | undefined;
  /** The dispatcher went from having room to full, or back: a consumer pauses or resumes fetching. */
  onFull?: () => void;
  onRoom?: () => void;
  classify?: (error: unknown) => FailureKind;
  observer?: DispatchObserver | undefined;
  /**
   * Records taken on (running or queued) before the consumer is told to pause:
   * by default several times the capacity, so that fetching pauses seldom
   * (each pause and resume costs the client a seek and a new fetch).
   */
  queueLimit?: number;
}

interface Accepted {
  record: BusRecord;
  partitionKey: string;
  /** The partition's epoch when the record was accepted; a revoke starts a new one. */
  epoch: number;
  abort: AbortController;
}

/** 8 attempts, 11.3 s of back-off between them in all, before a transient failure counts as permanent. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, initialDelayMs: 100, maxDelayMs: 5_000 };

/**
 * Runs a bus's records through a handler, up to `capacity` at once, and
 * acknowledges in partition order. Both bus implementations feed it, so they
 * share one definition of concurrency, retries, dead letters and at-least-once
 * commits. Records with the same key never run at the same time, so per-key
 * order holds.
 *
 * `dispatch` never waits: a record beyond capacity is queued and `onFull` tells
 * the consumer to pause fetching. A consumer that sat waiting for a slot would
 * hold up its group's rebalance, and with it every failover.
 */
export class Dispatcher {
  private readonly tracker = new OffsetTracker();
  private readonly queue: Accepted[] = [];
  private readonly inFlight = new Set<Accepted>();
  private readonly running = new Set<Promise<void>>();
  private readonly keyTails = new Map<string, Promise<void>>();
  private readonly epochs = new Map<string, number>();
  private readonly roomWaiters: Array<() => void> = [];
  private stopping = false;
  private full = false;

  private readonly queueLimit: number;

  constructor(private readonly options: DispatcherOptions) {
    this.queueLimit = options.queueLimit ?? Math.max(options.capacity * 4, 256);
  }

  /** Records taken on and not yet done (running or queued). */
  get load(): number {
    return this.inFlight.size + this.queue.length;
  }

  /** Records being worked on now (taken a slot), not those queued behind them. */
  get busy(): number {
    return this.inFlight.size;
  }

  hasRoom(): boolean {
    return !this.stopping && this.load < this.queueLimit;
  }

  /** Resolves when there is room for another record (or we are stopping). */
  whenRoom(): Promise<void> {
    if (this.hasRoom() || this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Takes a record on; false when we are stopping (it must then be read again
   * by whoever owns its partition next). Records of one partition must be
   * dispatched in offset order.
   */
  dispatch(record: BusRecord): boolean {
    if (this.stopping) return false;
    const partitionKey = OffsetTracker.key(record.topic, record.partition);
    const accepted: Accepted = {
      record,
      partitionKey,
      epoch: this.epochs.get(partitionKey) ?? 0,
      abort: new AbortController(),
    };
    this.tracker.start(record.topic, record.partition, record.offset);
    this.queue.push(accepted);
    this.pump();
    if (!this.full && this.load >= this.queueLimit) {
      this.full = true;
      this.options.onFull?.();
    }
    return true;
  }

  /**
   * A partition was taken away: its queued records are dropped and those in
   * flight are aborted, so a rebalance never waits for a long bake. None of
   * them is acknowledged; the next owner reads them again.
   */
  revoke(topic: string, partition: number): void {
    const partitionKey = OffsetTracker.key(topic, partition);
    this.epochs.set(partitionKey, (this.epochs.get(partitionKey) ?? 0) + 1);
    this.tracker.forget(topic, partition);
    for (let index = this.queue.length - 1; index >= 0; index -= 1) {
      if (this.queue[index]?.partitionKey === partitionKey) this.queue.splice(index, 1);
    }
    for (const item of this.inFlight) {
      if (item.partitionKey === partitionKey) item.abort.abort(new Error(`${topic}[${partition}] was revoked`));
    }
    this.signalRoom();
  }

  /** Stops taking records; waits up to `graceMs` for those in flight, then aborts them. */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true;
    this.queue.splice(0);
    for (const wake of this.roomWaiters.splice(0)) wake();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.allSettled([...this.running]), timeout]);
    clearTimeout(timer);
    for (const item of this.inFlight) item.abort.abort(new Error('the consumer is stopping'));
    await Promise.allSettled([...this.running]);
  }

  private pump(): void {
    while (this.inFlight.size < this.options.capacity && this.queue.length > 0) {
      const item = this.queue.shift() as Accepted;
      this.start(item);
    }
  }

  private start(item: Accepted): void {
    const { record } = item;
    this.inFlight.add(item);
    const keyTail = record.key === null ? undefined : this.keyTails.get(record.key);
    // Never rejects: a key's next record waits on it, and must always get its turn.
    const work = (async () => {
      let outcome: 'handled' | 'dead_lettered' | 'abandoned' = 'abandoned';
      const startedAt = performance.now();
      this.options.observer?.started(record);
      try {
        if (keyTail) await keyTail;
        outcome = await this.runToEnd(item);
        if (outcome !== 'abandoned') this.acknowledge(item);
      } catch (err) {
        this.options.log.error(
          { err, ...where(record) },
          'unexpected dispatcher failure; the record will be read again',
        );
      } finally {
        this.options.observer?.finished(record, (performance.now() - startedAt) / 1000, outcome);
      }
    })().finally(() => {
      this.inFlight.delete(item);
      this.running.delete(work);
      if (record.key !== null && this.keyTails.get(record.key) === work) this.keyTails.delete(record.key);
      this.pump();
      this.signalRoom();
    });
    this.running.add(work);
    if (record.key !== null) this.keyTails.set(record.key, work);
  }

  private signalRoom(): void {
    if (!this.hasRoom()) return;
    for (const wake of this.roomWaiters.splice(0)) wake();
    // Resume at half the limit, not at the first free place, so fetching does not flap.
    if (this.full && this.load <= this.queueLimit / 2) {
      this.full = false;
      this.options.onRoom?.();
    }
  }

  private acknowledge(item: Accepted): void {
    const { record } = item;
    if ((this.epochs.get(item.partitionKey) ?? 0) !== item.epoch) return;
    const next = this.tracker.finish(record.topic, record.partition, record.offset);
    if (next === undefined) return;
    try {
      this.options.commit(record.topic, record.partition, next);
    } catch (err) {
      this.options.log.warn({ err, ...where(record) }, 'could not record a commit; the record may be read again');
    }
  }

  /**
   * Works a record until it is done: handled, or dead-lettered. Abandoned when
   * it was taken back (revoked or stopping), so it must not be acknowledged.
   */
  private async runToEnd(item: Accepted): Promise<'handled' | 'dead_lettered' | 'abandoned'> {
    const { record } = item;
    const { signal } = item.abort;
    const classify = this.options.classify ?? classifyFailure;
    const { maxAttempts, initialDelayMs, maxDelayMs } = this.options.retry ?? DEFAULT_RETRY;
    let delay = initialDelayMs;
    let transientFailures = 0;
    for (;;) {
      if (signal.aborted) return 'abandoned';
      try {
        await this.options.handle(record, signal);
        return 'handled';
      } catch (err) {
        // Stopping or revoked: a failure now is the work giving way; the next owner does it.
        if (signal.aborted || this.stopping) return 'abandoned';
        const kind = classify(err);
        this.options.observer?.failed(record, kind);
        if (kind === 'bad-event' || kind === 'permanent') return this.deadLetter(item, kind, err);
        if (kind === 'transient') {
          transientFailures += 1;
          if (transientFailures >= maxAttempts) return this.deadLetter(item, 'retries-exhausted', err);
          this.options.log.warn(
            { err, ...where(record), attempt: transientFailures, maxAttempts },
            'handler failed; retrying',
          );
        } else {
          // The broker is away: the outage is logged once by the bus, not once per record.
          this.options.log.debug({ err, ...where(record) }, 'broker unavailable; waiting to retry');
        }
        if (!(await pause(delay, signal))) return 'abandoned';
        delay = Math.min(delay * 2, maxDelayMs);
      }
    }
  }

  /** Hands the record to the dead-letter topic, retrying that until it lands (or we are told to let go). */
  private async deadLetter(
    item: Accepted,
    reason: DeadLetterReason,
    error: unknown,
  ): Promise<'dead_lettered' | 'abandoned'> {
    const { record } = item;
    const { signal } = item.abort;
    const { initialDelayMs, maxDelayMs } = this.options.retry ?? DEFAULT_RETRY;
    const detail = error instanceof Error ? error.message : String(error);
    this.options.log.error({ ...where(record), reason, error: detail }, `sending the record to the dead-letter topic`);
    let delay = initialDelayMs;
    for (;;) {
      try {
        await this.options.deadLetter(record, reason, error);
        return 'dead_lettered';
      } catch (err) {
        if (signal.aborted) return 'abandoned';
        this.options.log.warn({ err, ...where(record) }, 'could not publish a dead letter; retrying');
        if (!(await pause(delay, signal))) return 'abandoned';
        delay = Math.min(delay * 2, Math.max(maxDelayMs, 30_000));
      }
    }
  }
}

function where(record: BusRecord) {
  return { topic: record.topic, partition: record.partition, offset: record.offset, orderId: record.key };
}

/** Waits `ms`; false when `signal` aborted first. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
