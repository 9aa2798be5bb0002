import type { Logger } from 'pino';
import type { Clock } from '../../../domain/clock.js';
import type { PartitionOffset } from '../../bus/bus.js';
import { partitionKey } from './partitions.js';

export interface CommitBatcherOptions {
  clock: Clock;
  /** Done offsets are gathered for this long and committed together, not one request per record. */
  intervalMs: number;
  /** Commits the positions (the next offsets to read); rejects when they were not committed. */
  send: (positions: PartitionOffset[]) => Promise<void>;
  /** Whether a partition is still ours: a failed commit's offsets are put back only then. */
  owns: (key: string) => boolean;
  /** True once the subscription stops: a failed commit is not tried again then. */
  stopping: () => boolean;
  /** Hears a failed commit, before its offsets are put back. */
  failed?: (err: unknown, positions: PartitionOffset[]) => void;
  log: Logger;
}

/**
 * Gathers each partition's latest committable position and commits them
 * together every `intervalMs`, one commit at a time, so commits can never land
 * out of order. A failed commit's positions are put back for the next one,
 * for partitions still ours whose position did not move on meanwhile.
 */
export class CommitBatcher {
  private readonly pending = new Map<string, PartitionOffset>();
  private committing: Promise<void> = Promise.resolve();
  private timer: AbortController | undefined;

  constructor(private readonly options: CommitBatcherOptions) {}

  /** Positions waiting for the next commit. */
  get waiting(): number {
    return this.pending.size;
  }

  add(position: PartitionOffset): void {
    this.pending.set(partitionKey(position.topic, position.partition), position);
    this.schedule();
  }

  /**
   * Commits what is gathered now (only the partitions in `only`, when given),
   * after any commit under way. Resolves once it is done, failed or not.
   */
  flush(only?: ReadonlySet<string>): Promise<void> {
    this.cancelTimer();
    const run = async () => {
      const batch = [...this.pending].filter(([key]) => !only || only.has(key));
      if (batch.length === 0) return;
      for (const [key] of batch) this.pending.delete(key);
      const positions = batch.map(([, position]) => position);
      try {
        await this.options.send(positions);
      } catch (err) {
        this.options.failed?.(err, positions);
        for (const [key, position] of batch) {
          if (this.options.owns(key) && !this.pending.has(key)) this.pending.set(key, position);
        }
        if (!this.options.stopping() && this.pending.size > 0) this.schedule();
      }
    };
    // The chain must survive any failure: a rejected link would skip every commit after it.
    this.committing = this.committing
      .then(run)
      .catch((err: unknown) => this.options.log.error({ err }, 'unexpected commit failure'));
    return this.committing;
  }

  /** Drops the gathered positions of these partitions (revoked, or being read again). */
  drop(keys: Iterable<string>): void {
    for (const key of keys) this.pending.delete(key);
  }

  clear(): void {
    this.pending.clear();
  }

  /** Stops the timer; what is gathered stays for an explicit flush. */
  close(): void {
    this.cancelTimer();
  }

  private schedule(): void {
    if (this.timer) return;
    const timer = new AbortController();
    this.timer = timer;
    this.options.clock.sleep(this.options.intervalMs, timer.signal).then(
      () => {
        if (this.timer !== timer) return;
        this.timer = undefined;
        void this.flush();
      },
      () => {},
    );
  }

  private cancelTimer(): void {
    this.timer?.abort();
    this.timer = undefined;
  }
}
