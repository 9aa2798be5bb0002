import type { Logger } from 'pino';
import { retryUntilDone } from '../../../domain/backoff.js';
import type { Clock } from '../../../domain/clock.js';
import type { PartitionOffset, PartitionRef } from '../../bus/bus.js';
import { partitionKey, partitionNames, partitionOf } from './partitions.js';

/** The client's rebalance event codes (librdkafka's RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS / __REVOKE_PARTITIONS). */
export const ASSIGN_PARTITIONS = -175;
export const REVOKE_PARTITIONS = -174;

export interface RebalanceEvent {
  code: number;
}

/** What the client passes a rebalance callback besides the partitions. */
export interface RebalanceFunctions {
  assignmentLost?: () => boolean;
}

/** A partition as the client assigns it, with where to start when we say so. */
export type AssignedPartition = PartitionRef & { offset?: number };

export interface RebalanceHandlerOptions {
  clock: Clock;
  log: Logger;
  /** Exactly-once: commits go in transactions, which a lost assignment can no longer make. */
  exactlyOnce: boolean;
  /**
   * Exactly-once: waits until the group's committed offsets of newly assigned
   * partitions are settled (the client would wait silently, and for good, on
   * offsets a broker stranded).
   */
  settle?: ((partitions: PartitionRef[], since: number) => Promise<unknown>) | undefined;
  /** The subscriber's restore (its `onAssigned`), tried until it succeeds: records must not arrive before their state. */
  prepare?: ((partitions: PartitionRef[]) => Promise<PartitionOffset[] | undefined>) | undefined;
  /** Newly assigned partitions: nothing of an earlier assignment (a pause, a restart) may stick to them. */
  assigned: (partitions: PartitionRef[]) => void;
  /**
   * Revoked partitions, at once, before any await: work in flight on them is
   * handed back. They are still ours during the call, no longer after it.
   */
  revoked: (partitions: PartitionRef[]) => void;
  /** Commits what is done of these partitions while they are still ours. */
  flush: (keys: ReadonlySet<string>) => Promise<void>;
  /** After the last commit of revoked partitions: whatever is left of them is dropped. */
  forget: (keys: ReadonlySet<string>) => void;
  stopping: () => boolean;
  /** The first assignment arrived: the member has joined. */
  joined: () => void;
}

/**
 * Which partitions this member owns, kept by the client's rebalance callback.
 * On assign, the partitions' state is restored before the client hands over
 * any of their records; on revoke, they stop being ours at once, what is done
 * is committed while we still own them, and work in flight is handed back
 * (the next owner reads those records again).
 */
export class RebalanceHandler {
  /** Partitions owned now, each with the generation it was assigned in. */
  private readonly owned = new Map<string, number>();
  /**
   * Partitions being revoked (not lost): no longer ours to work on, but what
   * is done of them is still committed in their generation, until `forget`.
   */
  private readonly handingBack = new Map<string, number>();
  private generation = 0;
  private events = 0;

  constructor(private readonly options: RebalanceHandlerOptions) {}

  /** Moves at every rebalance event: work that waited across one must not act on the partitions it knew. */
  get rebalances(): number {
    return this.events;
  }

  owns(key: string): boolean {
    return this.owned.has(key);
  }

  ownedPartitions(): PartitionRef[] {
    return [...this.owned.keys()].map(partitionOf);
  }

  /**
   * Exactly-once: whether a transaction may still commit for these partitions,
   * asked while it is under way. True as long as each is ours in the assignment
   * it has now (or is being handed back from it): false once one was lost, or
   * revoked and assigned again, since. The group would take the offsets of such
   * a transaction in the later generation, and the records are read again.
   */
  fence(keys: Iterable<string>): () => boolean {
    const read = [...new Set(keys)].map((key) => [key, this.assignmentOf(key)] as const);
    return () => read.every(([key, generation]) => generation !== undefined && this.assignmentOf(key) === generation);
  }

  private assignmentOf(key: string): number | undefined {
    return this.owned.get(key) ?? this.handingBack.get(key);
  }

  /** The client's `rebalance_cb`: returns the assignment with start offsets when the subscriber chose some. */
  readonly onRebalance = async (
    event: RebalanceEvent,
    assignment: PartitionRef[],
    functions?: RebalanceFunctions,
  ): Promise<AssignedPartition[] | undefined> => {
    this.events += 1;
    if (event.code === ASSIGN_PARTITIONS) return this.assign(assignment);
    if (event.code === REVOKE_PARTITIONS) await this.revoke(assignment, functions?.assignmentLost?.() ?? false);
    return undefined;
  };

  private async assign(assignment: PartitionRef[]): Promise<AssignedPartition[] | undefined> {
    const { log } = this.options;
    // Before the client applies the assignment, so no record of these partitions arrives
    // until their state is restored; heartbeats go on meanwhile.
    await this.options.settle?.(assignment, this.events);
    const prepare = this.options.prepare;
    const starts = prepare
      ? await retryUntilDone(
          this.options.clock,
          () => prepare(assignment.map(({ topic, partition }) => ({ topic, partition }))),
          {
            backoff: { initialMs: 500, maxMs: 5_000 },
            moot: this.options.stopping,
            onFailure: (err, attempt) =>
              log.warn({ err, attempt }, 'could not prepare newly assigned partitions; trying again'),
          },
        )
      : undefined;
    this.generation += 1;
    for (const tp of assignment) this.owned.set(partitionKey(tp.topic, tp.partition), this.generation);
    this.options.assigned(assignment);
    log.info({ partitions: partitionNames(assignment) }, 'partitions assigned');
    this.options.joined();
    if (!starts || starts.length === 0) return undefined;
    const byKey = new Map(starts.map((start) => [partitionKey(start.topic, start.partition), start.offset]));
    return assignment.map((tp) => {
      const offset = byKey.get(partitionKey(tp.topic, tp.partition));
      return offset === undefined ? { ...tp } : { ...tp, offset: Number(offset) };
    });
  }

  private async revoke(assignment: PartitionRef[], lost: boolean): Promise<void> {
    const revoked = new Set(assignment.map((tp) => partitionKey(tp.topic, tp.partition)));
    // At once, before any await: the client may go on handing us records of these
    // partitions meanwhile, and those must be read again by the next owner, not worked on.
    // Handed back first, while still ours: what was done before is committed with the rest.
    this.options.revoked(assignment);
    // Exactly-once: a lost assignment (our session expired, say while the broker was away) has
    // no generation left to commit in. The coordinator may refuse the offsets ("Unknown
    // member"), or take them in the generation we rejoin in: a transaction under way for
    // these partitions aborts (see `fence`), and the records are read again.
    const commitsLeft = !(this.options.exactlyOnce && lost);
    for (const key of revoked) {
      const generation = this.owned.get(key);
      this.owned.delete(key);
      if (commitsLeft && generation !== undefined) this.handingBack.set(key, generation);
    }
    if (commitsLeft) await this.options.flush(revoked);
    for (const key of revoked) this.handingBack.delete(key);
    this.options.forget(revoked);
    this.options.log.info({ partitions: partitionNames(assignment) }, 'partitions revoked');
  }
}
