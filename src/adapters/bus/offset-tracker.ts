interface PartitionState {
  /** Offsets taken on, in order; those before `head` are committed. */
  queue: bigint[];
  head: number;
  done: Set<bigint>;
}

/** A consumed prefix longer than this is cut off the queue, so it does not grow for good. */
const COMPACT_AT = 1024;

/**
 * Tracks the records of each partition that are in flight, so that a commit
 * never passes an earlier record that is still being worked on, however many
 * records run at once. Offsets of one partition must be started in order.
 */
export class OffsetTracker {
  private readonly partitions = new Map<string, PartitionState>();

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  start(topic: string, partition: number, offset: string): void {
    this.state(topic, partition).queue.push(BigInt(offset));
  }

  /** Starts a batch of one partition's offsets, in order: one lookup for all of them. */
  startBatch(topic: string, partition: number, offsets: readonly string[]): void {
    const { queue } = this.state(topic, partition);
    for (const offset of offsets) queue.push(BigInt(offset));
  }

  /**
   * Marks a record done. Returns the offset to commit (the next one to read)
   * when the partition's committable position moved, else undefined.
   */
  finish(topic: string, partition: number, offset: string): string | undefined {
    const state = this.partitions.get(OffsetTracker.key(topic, partition));
    if (!state) return undefined;
    state.done.add(BigInt(offset));
    let committable: bigint | undefined;
    const { queue, done } = state;
    while (state.head < queue.length && done.has(queue[state.head] as bigint)) {
      const head = queue[state.head] as bigint;
      done.delete(head);
      state.head += 1;
      committable = head + 1n;
    }
    if (state.head >= COMPACT_AT || state.head === queue.length) {
      queue.splice(0, state.head);
      state.head = 0;
    }
    return committable === undefined ? undefined : committable.toString();
  }

  /** Forgets a partition, when it is revoked: its unfinished records will be redelivered elsewhere. */
  forget(topic: string, partition: number): void {
    this.partitions.delete(OffsetTracker.key(topic, partition));
  }

  inFlight(): number {
    let count = 0;
    for (const state of this.partitions.values()) count += state.queue.length - state.head - state.done.size;
    return count;
  }

  private state(topic: string, partition: number): PartitionState {
    const key = OffsetTracker.key(topic, partition);
    let state = this.partitions.get(key);
    if (!state) {
      state = { queue: [], head: 0, done: new Set<bigint>() };
      this.partitions.set(key, state);
    }
    return state;
  }
}
