/** A consumed prefix longer than this is cut off the queue, so it does not grow for good. */
const COMPACT_AT = 1024;

/**
 * One partition's records in flight, so that a commit never passes an
 * earlier record that is still being worked on, however many run at once.
 * Offsets must be started in order. They are kept as the strings the client
 * gave (one string per record, compared as such): only a commit's position is
 * computed.
 */
export class PartitionOffsets {
  /** Offsets taken on, in order; those before `head` are committed. */
  private queue: string[] = [];
  private head = 0;
  private readonly done = new Set<string>();

  start(offset: string): void {
    this.queue.push(offset);
  }

  startBatch(offsets: readonly string[]): void {
    for (const offset of offsets) this.queue.push(offset);
  }

  /**
   * Marks a record done. Returns the offset to commit (the next one to read)
   * when the committable position moved, else undefined.
   */
  finish(offset: string): string | undefined {
    const { queue, done } = this;
    if (queue[this.head] !== offset) {
      done.add(offset);
      return undefined;
    }
    // The oldest record finished: the position moves past it and every later one already done.
    let reached = offset;
    this.head += 1;
    while (this.head < queue.length && done.delete(queue[this.head] as string)) {
      reached = queue[this.head] as string;
      this.head += 1;
    }
    if (this.head >= COMPACT_AT || this.head === queue.length) {
      if (this.head === queue.length) this.queue = [];
      else queue.splice(0, this.head);
      this.head = 0;
    }
    return nextOffset(reached);
  }

  inFlight(): number {
    return this.queue.length - this.head - this.done.size;
  }
}

/** The offset after `offset`; by number while that is exact (below 2^53), else by BigInt. */
export function nextOffset(offset: string): string {
  return offset.length < 16 ? String(Number(offset) + 1) : (BigInt(offset) + 1n).toString();
}

/** The in-flight offsets of every partition, by topic and partition (see PartitionOffsets). */
export class OffsetTracker {
  private readonly partitions = new Map<string, PartitionOffsets>();

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  start(topic: string, partition: number, offset: string): void {
    this.state(topic, partition).start(offset);
  }

  /** Starts a batch of one partition's offsets, in order: one lookup for all of them. */
  startBatch(topic: string, partition: number, offsets: readonly string[]): void {
    this.state(topic, partition).startBatch(offsets);
  }

  /**
   * Marks a record done. Returns the offset to commit (the next one to read)
   * when the partition's committable position moved, else undefined.
   */
  finish(topic: string, partition: number, offset: string): string | undefined {
    return this.partitions.get(OffsetTracker.key(topic, partition))?.finish(offset);
  }

  /** Forgets a partition, when it is revoked: its unfinished records will be redelivered elsewhere. */
  forget(topic: string, partition: number): void {
    this.partitions.delete(OffsetTracker.key(topic, partition));
  }

  inFlight(): number {
    let count = 0;
    for (const state of this.partitions.values()) count += state.inFlight();
    return count;
  }

  private state(topic: string, partition: number): PartitionOffsets {
    const key = OffsetTracker.key(topic, partition);
    let state = this.partitions.get(key);
    if (!state) {
      state = new PartitionOffsets();
      this.partitions.set(key, state);
    }
    return state;
  }
}
