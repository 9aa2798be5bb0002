import type { Logger } from 'pino';
import type { Clock } from '../../../domain/clock.js';
import type { PartitionOffset, PartitionRef } from '../../bus/bus.js';
import type { KafkaConsumer } from '../client.js';
import type { OutputGate } from '../transaction-context.js';
import { partitionKey } from './partitions.js';

/** How long asking the group for its committed offsets may take, after a gap. */
const COMMITTED_TIMEOUT_MS = 5_000;

export interface OwnershipGuardOptions {
  clock: Clock;
  log: Logger;
  /**
   * A gap in the process's own time longer than this may have cost it its
   * group session: the group may have given its partitions to another member.
   */
  maxGapMs: number;
  /** How often the guard looks at the time, and asks the group again while it holds. */
  tickMs: number;
  /**
   * Asks the group whether this member still holds its assignment: true when
   * it does (a commit in the member's generation went through), false when
   * not or not yet, undefined when there is nothing to ask with.
   */
  confirm: () => Promise<boolean | undefined>;
  /**
   * With nothing to ask with, a hold ends after this long without a rebalance:
   * a member whose session expired hears so at its first heartbeat, and is
   * revoked well within it.
   */
  unaskableHoldMs: number;
}

interface Hold {
  readonly since: number;
  readonly gapMs: number;
  readonly released: Promise<void>;
  release(): void;
}

/**
 * At-least-once, nothing fences a member that hung (SIGSTOP, a paused VM, a
 * long stall): on resuming, its timers fire (a pizza comes out of the oven)
 * before its client has learned that the group moved its partitions meanwhile.
 * So each record's outputs pass a gate when they are published, not only when
 * the record was taken on: outputs of a partition taken back are dropped (the
 * record's signal has aborted). And the member watches its own clock: after a
 * gap longer than its session could outlive, every output waits until the
 * group confirms the member still owns its partitions (a commit in its
 * generation goes through, or a new assignment arrives). Those of partitions
 * taken back meanwhile are dropped while they wait.
 */
export class OwnershipGuard {
  private lastSeen: number;
  private hold: Hold | undefined;
  private asking = false;
  private readonly ticking = new AbortController();

  constructor(private readonly options: OwnershipGuardOptions) {
    this.lastSeen = options.clock.monotonic();
  }

  /** Outputs wait: a gap was seen and the group has not confirmed the assignment since. */
  get holding(): boolean {
    return this.hold !== undefined;
  }

  /** Starts the periodic look at the time, which notices a gap even when nothing is published. */
  start(): void {
    void this.tick();
  }

  /** Stops looking. A hold stays: the work it holds is handed back by the stop, not let go. */
  stop(): void {
    this.ticking.abort();
  }

  /** The gate of one record's outputs; `signal` aborts when its partition is taken back. */
  gate(signal: AbortSignal): OutputGate {
    return { signal, pass: () => this.pass(signal) };
  }

  /**
   * Undefined when an output of work under `signal` may go at once (the common
   * case, which costs no promise); else a promise that resolves when it may go,
   * or rejects with the abort reason once its partition is taken back, before
   * or while it waits.
   */
  pass(signal: AbortSignal): Promise<void> | undefined {
    if (signal.aborted) return Promise.reject(signal.reason);
    // Here too, not only on the tick: on resuming, an oven's timer may fire before the tick's.
    this.look();
    const hold = this.hold;
    return hold ? untilReleased(hold, signal) : undefined;
  }

  /** The group gave this member an assignment: what it owns is known again. */
  assigned(): void {
    this.release('a new assignment');
  }

  /** Notices a gap since the last look; while holding, asks the group again. */
  look(): void {
    const now = this.options.clock.monotonic();
    const gapMs = now - this.lastSeen;
    this.lastSeen = Math.max(this.lastSeen, now);
    if (gapMs > this.options.maxGapMs && !this.hold) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      this.hold = { since: now, gapMs, released, release };
      this.options.log.warn(
        { gapMs, maxGapMs: this.options.maxGapMs },
        'this process did not run for longer than its group session may last; its outputs wait until the group confirms its partitions',
      );
    }
    if (this.hold) void this.ask(this.hold);
  }

  private async ask(hold: Hold): Promise<void> {
    if (this.asking) return;
    this.asking = true;
    try {
      const owned = await this.options.confirm();
      if (owned) this.release('a commit in its generation');
      else if (owned === undefined && this.options.clock.monotonic() - hold.since >= this.options.unaskableHoldMs) {
        this.release('no rebalance within the session timeout');
      }
    } catch (err) {
      this.options.log.debug({ err }, 'could not ask the group whether the partitions are still ours; asking again');
    } finally {
      this.asking = false;
    }
  }

  private release(why: string): void {
    const hold = this.hold;
    if (!hold) return;
    this.hold = undefined;
    hold.release();
    this.options.log.info(
      { gapMs: hold.gapMs, heldMs: this.options.clock.monotonic() - hold.since, why },
      'outputs go again after the gap',
    );
  }

  private async tick(): Promise<void> {
    const { signal } = this.ticking;
    while (!signal.aborted) {
      try {
        await this.options.clock.sleep(this.options.tickMs, signal);
      } catch {
        return;
      }
      this.look();
    }
  }
}

/** Resolves when the hold ends; rejects with the abort reason when `signal` aborts first. */
function untilReleased(hold: Hold, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void hold.released.then(() => {
      signal.removeEventListener('abort', onAbort);
      // Revoked while held, and released after: the revoke wins.
      if (signal.aborted) reject(signal.reason);
      else resolve();
    });
  });
}

export interface CommitProbeOptions {
  consumer: () => KafkaConsumer | undefined;
  owned: () => PartitionRef[];
  /** Moves at every rebalance event. */
  rebalances: () => number;
  /** The furthest offset handed to a commit, per owned partition. */
  committing: ReadonlyMap<string, PartitionOffset>;
  stopping: () => boolean;
}

/**
 * The guard's question, asked of a Kafka group: a commit in this member's
 * generation goes through only while the group still gives it its partitions
 * (the coordinator refuses it from an expired member, or once a rebalance
 * began). What it commits is what is committed already, or on its way:
 * nothing moves.
 */
export function confirmByCommit(options: CommitProbeOptions): () => Promise<boolean | undefined> {
  return async () => {
    const consumer = options.consumer();
    const owned = options.owned();
    // Never once stopping: the native client is gone after the disconnect.
    if (!consumer || options.stopping() || owned.length === 0 || assignmentLost(consumer)) return false;
    const rebalances = options.rebalances();
    const known = (tp: PartitionRef) => options.committing.get(partitionKey(tp.topic, tp.partition));
    let positions = owned.flatMap((tp) => known(tp) ?? []);
    if (positions.length === 0) {
      const stored = await consumer.committed(owned, COMMITTED_TIMEOUT_MS);
      // Read after the wait: a commit sent meanwhile is further on, and must not be undone.
      positions = stored
        .filter((tp) => BigInt(tp.offset) >= 0n)
        .map((tp) => known(tp) ?? { topic: tp.topic, partition: tp.partition, offset: tp.offset });
    }
    // A client that gave the assignment up may commit as no member at all (seen: one went
    // through just after the revoke): only a commit with the assignment unchanged counts, and
    // none is sent once it changed, lest it move back what the partitions' new owner committed.
    const unchanged = () => !options.stopping() && options.rebalances() === rebalances && !assignmentLost(consumer);
    if (!unchanged()) return false;
    if (positions.length === 0) return undefined;
    await consumer.commitOffsets(positions);
    return unchanged();
  };
}

/** The client's own word (librdkafka's `rd_kafka_assignment_lost`): its session expired, or it left the group. */
function assignmentLost(consumer: KafkaConsumer): boolean {
  const native = (
    consumer as unknown as { _getInternalClient?(): { assignmentLost?(): boolean } }
  )._getInternalClient?.();
  return native?.assignmentLost?.() ?? false;
}
