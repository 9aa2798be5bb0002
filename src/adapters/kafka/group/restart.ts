import type { Logger } from 'pino';
import { retryUntilDone } from '../../../domain/backoff.js';
import type { Clock } from '../../../domain/clock.js';
import type { CommittedOffset, PartitionOffset, PartitionRef } from '../../bus/bus.js';
import { partitionKey, partitionNames } from './partitions.js';

export interface ExactlyOnceRestartOptions {
  clock: Clock;
  log: Logger;
  /** The partitions owned now, and a count that moves at every rebalance. */
  ownership: { ownedPartitions(): PartitionRef[]; readonly rebalances: number };
  /** The group's settled committed offsets of these partitions; rejects while some are not settled. */
  committed: (partitions: PartitionRef[]) => Promise<CommittedOffset[]>;
  /**
   * The settled committed offsets of partitions about to be read from them
   * (assigned, or started over), before any of their records: which records
   * past each offset were done already.
   */
  restored?: ((partitions: PartitionRef[], committed: CommittedOffset[]) => void) | undefined;
  /** Offsets unsettled for longer than this were stranded by a broker, not held by a live transaction. */
  settleAfterMs: number;
  /** Ends what a broker may have left open under this member's transactional id, settling the offsets. */
  settle: (partitions: PartitionRef[]) => Promise<void>;
  /** The subscriber's restore (its `onAssigned`): where to start instead of the committed offsets. */
  prepare?: ((partitions: PartitionRef[]) => Promise<PartitionOffset[] | undefined>) | undefined;
  /** At once, before any await: the work, outputs and gathered commits of these partitions are dropped. */
  discard: (partitions: PartitionRef[]) => void;
  /** Moves the client's reading position; `-2` is the start of the partition. */
  seek: (position: PartitionOffset) => void;
  /** Fetching goes on (partitions paused while the dispatcher was full). */
  resume: () => void;
  stopping: () => boolean;
}

/**
 * Exactly-once: after a failed transaction, everything since the last commit
 * is worked on again, as if the partitions had just been assigned to us (state
 * restored from the committed offsets, reading resumed from them).
 */
export class ExactlyOnceRestart {
  /**
   * Partitions being started over. Records the client still hands over for them
   * were read past the last commit, and come again from it once the seek is made.
   */
  private readonly restarting = new Set<string>();

  constructor(private readonly options: ExactlyOnceRestartOptions) {}

  isRestarting(key: string): boolean {
    return this.restarting.has(key);
  }

  /** The partition was assigned or revoked: a new assignment starts from the committed offsets by itself. */
  forget(key: string): void {
    this.restarting.delete(key);
  }

  /** Never throws: it retries until it is done, or until a rebalance or a stop makes it moot. */
  async startOver(): Promise<void> {
    const { ownership, log } = this.options;
    if (this.options.stopping()) return;
    const since = ownership.rebalances;
    const partitions = ownership.ownedPartitions();
    if (partitions.length === 0) return;
    // At once, before any await: from here on nothing read past the last commit is worked on.
    for (const { topic, partition } of partitions) this.restarting.add(partitionKey(topic, partition));
    this.options.discard(partitions);
    const moot = () => this.options.stopping() || ownership.rebalances !== since;
    await retryUntilDone(
      this.options.clock,
      async () => {
        const committed = await this.settledPositions(partitions, since);
        if (!committed) return;
        const starts = await this.options.prepare?.(partitions);
        if (moot()) return;
        const from = new Map(
          committed.map((position) => [partitionKey(position.topic, position.partition), position.offset]),
        );
        for (const start of starts ?? []) from.set(partitionKey(start.topic, start.partition), start.offset);
        // In one step with lifting the guard: the client hands over no record between a seek
        // and its taking effect, so what arrives next was read from these offsets.
        for (const { topic, partition } of partitions) {
          const key = partitionKey(topic, partition);
          // No commit yet: from the start, as auto.offset.reset = earliest would.
          this.options.seek({ topic, partition, offset: from.get(key) ?? '-2' });
          this.restarting.delete(key);
        }
        this.options.resume();
        log.info({ partitions: partitionNames(partitions) }, 'reading again from the last commit');
      },
      {
        backoff: { initialMs: 500, maxMs: 5_000 },
        moot,
        onFailure: (err, attempt) =>
          log.warn({ err, attempt }, 'could not start over from the last commit yet; trying again'),
      },
    );
  }

  /**
   * The group's settled committed offsets of these partitions, once there are
   * (undefined when a rebalance or a stop made them moot). Offsets a broker left
   * pending for longer than any live transaction could are settled by ending
   * what this producer id may have left open.
   */
  async settledPositions(partitions: PartitionRef[], since: number): Promise<CommittedOffset[] | undefined> {
    const { clock, log } = this.options;
    let waitingSince = clock.now();
    const committed = await retryUntilDone(clock, () => this.options.committed(partitions), {
      backoff: { initialMs: 250, maxMs: 2_000 },
      moot: () => this.options.stopping() || this.options.ownership.rebalances !== since,
      onFailure: async (err, attempt) => {
        if (clock.now() - waitingSince < this.options.settleAfterMs) {
          log.debug({ err, attempt }, 'committed offsets not settled yet; waiting');
          return;
        }
        log.warn(
          { err, partitions: partitionNames(partitions) },
          'committed offsets stay unsettled: ending the transaction a broker left open under this producer',
        );
        await this.options
          .settle(partitions)
          .catch((settleErr: unknown) => log.warn({ err: settleErr }, 'could not settle the offsets yet'));
        waitingSince = clock.now();
      },
    });
    if (committed) this.options.restored?.(partitions, committed);
    return committed;
  }
}
