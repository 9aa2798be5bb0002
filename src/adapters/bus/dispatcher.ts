import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { backoffDelay, pauseFor } from '../../domain/backoff.js';
import { type Clock, systemClock } from '../../domain/clock.js';
import type { DeadLetterReason } from '../../domain/headers.js';
import type { BusRecord, DispatchObserver, FailureKind, RecordHandler, RetryPolicy } from './bus.js';
import { classifyFailure } from './failures.js';
import { OffsetTracker, PartitionOffsets } from './offset-tracker.js';

export interface DispatcherOptions {
  capacity: number;
  handle: RecordHandler;
  /**
   * Called with the next offset to read once every record before it is done:
   * at most once per partition per turn of the event loop, with the furthest
   * position that turn reached (records finishing together commit together).
   */
  commit: (topic: string, partition: number, nextOffset: string) => void;
  /** Back-off waits and the stop's grace period; the system clock when not given. */
  clock?: Clock | undefined;
  /**
   * Publishes a record that can never be worked on to the dead-letter topic; rejects when it could not.
   * `signal` is the record's: it aborts when its partition is taken back, and the letter is not needed then.
   */
  deadLetter: (record: BusRecord, reason: DeadLetterReason, error: unknown, signal: AbortSignal) => Promise<void>;
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

/**
 * A partition's records since it was last assigned. A revoke ends it: its
 * work in flight is aborted (one controller for all of it, not one per
 * record) and what finishes afterwards is not acknowledged.
 */
interface Epoch {
  readonly abort: AbortController;
  readonly offsets: PartitionOffsets;
}

interface Accepted {
  record: BusRecord;
  partitionKey: string;
  epoch: Epoch;
  /** The record's work, once started: settles (never rejects) when it is over. */
  done?: Promise<void>;
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
  private readonly queue: Accepted[] = [];
  private readonly inFlight = new Set<Accepted>();
  /** Each key's last record taken on: the key's next one starts once it is over. */
  private readonly keyTails = new Map<string, Accepted>();
  /** The current epoch of each partition that has records. */
  private readonly epochs = new Map<string, Epoch>();
  /** Revoked epochs whose work still in flight may end done, until `settleRevoked` (at-least-once). */
  private readonly settling = new Map<string, Epoch>();
  private readonly roomWaiters: Array<() => void> = [];
  /** Committable positions reached this turn, told to `commit` together at its end. */
  private readonly positions = new Map<string, { topic: string; partition: number; nextOffset: string }>();
  private positionsScheduled = false;
  private stopping = false;
  private full = false;

  private readonly queueLimit: number;
  private readonly clock: Clock;

  constructor(private readonly options: DispatcherOptions) {
    this.queueLimit = options.queueLimit ?? Math.max(options.capacity * 4, 256);
    this.clock = options.clock ?? systemClock;
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
    return this.dispatchBatch([record]);
  }

  /**
   * Takes on a batch of one partition's records, in offset order, in one call;
   * false (and none of them taken) when we are stopping. The batch may go past
   * the queue limit: the consumer pauses fetching then, as for one record.
   */
  dispatchBatch(records: readonly BusRecord[]): boolean {
    if (this.stopping) return false;
    const first = records[0];
    if (!first) return true;
    const partitionKey = OffsetTracker.key(first.topic, first.partition);
    let epoch = this.epochs.get(partitionKey);
    if (!epoch) {
      epoch = { abort: new AbortController(), offsets: new PartitionOffsets() };
      // Every record of the partition in flight may listen on the one signal (a bake's sleep does).
      setMaxListeners(0, epoch.abort.signal);
      this.epochs.set(partitionKey, epoch);
    }
    for (const record of records) {
      epoch.offsets.start(record.offset);
      this.queue.push({ record, partitionKey, epoch });
    }
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
  revoke(topic: string, partition: number, options?: { settle?: boolean }): void {
    const partitionKey = OffsetTracker.key(topic, partition);
    const epoch = this.epochs.get(partitionKey);
    this.epochs.delete(partitionKey);
    if (epoch && options?.settle) this.settling.set(partitionKey, epoch);
    // What finished before the revoke is done: its position is told now, while the
    // partition can still be committed, not dropped with the rest.
    const reached = this.positions.get(partitionKey);
    this.positions.delete(partitionKey);
    if (reached) this.tell([reached]);
    for (let index = this.queue.length - 1; index >= 0; index -= 1) {
      if (this.queue[index]?.partitionKey === partitionKey) this.queue.splice(index, 1);
    }
    // Aborts exactly the partition's records in flight: its queued ones are gone, and those done are done.
    epoch?.abort.abort(new Error(`${topic}[${partition}] was revoked`));
    this.signalRoom();
  }

  /**
   * After `revoke(…, { settle: true })`, while the partition can still be
   * committed: waits up to `maxMs` for its work still in flight to end, and
   * tells the position of what ended done. Aborted work ends at once; what
   * ends done is work whose outputs were already on their way when the revoke
   * came (a send awaiting its delivery report). At-least-once, committing it
   * spares the next owner a duplicate; exactly-once must not use this (the
   * outputs of work taken back are dropped, and the record must be read again).
   */
  async settleRevoked(topic: string, partition: number, maxMs: number): Promise<void> {
    const partitionKey = OffsetTracker.key(topic, partition);
    const epoch = this.settling.get(partitionKey);
    if (!epoch) return;
    const running = [...this.inFlight].filter((item) => item.epoch === epoch).map((item) => item.done);
    if (running.length > 0) {
      const wait = new AbortController();
      await Promise.race([Promise.allSettled(running), pauseFor(this.clock, maxMs, wait.signal)]);
      wait.abort();
    }
    if (this.settling.get(partitionKey) === epoch) this.settling.delete(partitionKey);
    // The caller commits next: it must hear of it now, not next turn.
    this.tellPositions();
  }

  /** Stops taking records; waits up to `graceMs` for those in flight, then aborts them. */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true;
    this.queue.splice(0);
    for (const wake of this.roomWaiters.splice(0)) wake();
    const grace = new AbortController();
    await Promise.race([Promise.allSettled(this.running()), pauseFor(this.clock, graceMs, grace.signal)]);
    grace.abort();
    for (const epoch of this.epochs.values()) epoch.abort.abort(new Error('the consumer is stopping'));
    await Promise.allSettled(this.running());
    // What finished is committed by the caller next: it must hear of it now, not next turn.
    this.tellPositions();
  }

  private pump(): void {
    while (this.inFlight.size < this.options.capacity && this.queue.length > 0) {
      const item = this.queue.shift() as Accepted;
      this.start(item);
    }
  }

  private running(): Array<Promise<void> | undefined> {
    return [...this.inFlight].map((item) => item.done);
  }

  private start(item: Accepted): void {
    const { key } = item.record;
    this.inFlight.add(item);
    const keyTail = key === null ? undefined : this.keyTails.get(key);
    item.done = this.work(item, keyTail);
    if (key !== null) this.keyTails.set(key, item);
  }

  /** A record's work from its slot to its end. Never rejects: a key's next record waits on it, and must always get its turn. */
  private async work(item: Accepted, keyTail: Accepted | undefined): Promise<void> {
    const { record } = item;
    const { observer } = this.options;
    let outcome: 'handled' | 'dead_lettered' | 'abandoned' = 'abandoned';
    const startedAt = observer ? performance.now() : 0;
    observer?.started(record);
    try {
      if (keyTail) await keyTail.done;
      outcome = await this.runToEnd(item);
      if (outcome !== 'abandoned') this.acknowledge(item);
    } catch (err) {
      this.options.log.error({ err, ...where(record) }, 'unexpected dispatcher failure; the record will be read again');
    } finally {
      try {
        observer?.finished(record, (performance.now() - startedAt) / 1000, outcome);
      } finally {
        this.inFlight.delete(item);
        if (record.key !== null && this.keyTails.get(record.key) === item) this.keyTails.delete(record.key);
        this.pump();
        this.signalRoom();
      }
    }
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
    const { record, epoch } = item;
    if (this.epochs.get(item.partitionKey) !== epoch && this.settling.get(item.partitionKey) !== epoch) return;
    const nextOffset = epoch.offsets.finish(record.offset);
    if (nextOffset === undefined) return;
    const position = this.positions.get(item.partitionKey);
    if (position) position.nextOffset = nextOffset;
    else this.positions.set(item.partitionKey, { topic: record.topic, partition: record.partition, nextOffset });
    if (!this.positionsScheduled) {
      this.positionsScheduled = true;
      setImmediate(() => this.tellPositions());
    }
  }

  private tellPositions(): void {
    this.positionsScheduled = false;
    const positions = [...this.positions.values()];
    this.positions.clear();
    this.tell(positions);
  }

  private tell(positions: Array<{ topic: string; partition: number; nextOffset: string }>): void {
    for (const { topic, partition, nextOffset } of positions) {
      try {
        this.options.commit(topic, partition, nextOffset);
      } catch (err) {
        this.options.log.warn(
          { err, topic, partition, nextOffset },
          'could not record a commit; records may be read again',
        );
      }
    }
  }

  /**
   * Works a record until it is done: handled, or dead-lettered. Abandoned when
   * it was taken back (revoked or stopping), so it must not be acknowledged.
   */
  private async runToEnd(item: Accepted): Promise<'handled' | 'dead_lettered' | 'abandoned'> {
    const { record } = item;
    const { signal } = item.epoch.abort;
    const classify = this.options.classify ?? classifyFailure;
    const { maxAttempts, initialDelayMs, maxDelayMs } = this.options.retry ?? DEFAULT_RETRY;
    const backoff = { initialMs: initialDelayMs, maxMs: maxDelayMs };
    let failures = 0;
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
        failures += 1;
        if (!(await pauseFor(this.clock, backoffDelay(backoff, failures), signal))) return 'abandoned';
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
    const { signal } = item.epoch.abort;
    const { initialDelayMs, maxDelayMs } = this.options.retry ?? DEFAULT_RETRY;
    const backoff = { initialMs: initialDelayMs, maxMs: Math.max(maxDelayMs, 30_000) };
    const detail = error instanceof Error ? error.message : String(error);
    this.options.log.error({ ...where(record), reason, error: detail }, `sending the record to the dead-letter topic`);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.options.deadLetter(record, reason, error, signal);
        return 'dead_lettered';
      } catch (err) {
        if (signal.aborted) return 'abandoned';
        this.options.log.warn({ err, ...where(record) }, 'could not publish a dead letter; retrying');
        if (!(await pauseFor(this.clock, backoffDelay(backoff, attempt), signal))) return 'abandoned';
      }
    }
  }
}

function where(record: BusRecord) {
  return { topic: record.topic, partition: record.partition, offset: record.offset, orderId: record.key };
}
