/**
 * Tracks the records of each partition that are in flight, so that a commit
 * never passes an earlier record that is still being worked on, however many
 * records run at once. Offsets of one partition must be started in order.
 */
export class OffsetTracker {
  private readonly partitions = new Map<string, { queue: bigint[]; done: Set<bigint> }>();

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  start(topic: string, partition: number, offset: string): void {
    const key = OffsetTracker.key(topic, partition);
    const state = this.partitions.get(key) ?? { queue: [], done: new Set<bigint>() };
    state.queue.push(BigInt(offset));
    this.partitions.set(key, state);
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
    while (state.queue.length > 0 && state.done.has(state.queue[0] as bigint)) {
      const head = state.queue.shift() as bigint;
      state.done.delete(head);
      committable = head + 1n;
    }
    return committable === undefined ? undefined : committable.toString();
  }

  /** Forgets a partition, when it is revoked: its unfinished records will be redelivered elsewhere. */
  forget(topic: string, partition: number): void {
    this.partitions.delete(OffsetTracker.key(topic, partition));
  }

  inFlight(): number {
    let count = 0;
    for (const state of this.partitions.values()) count += state.queue.length - state.done.size;
    return count;
  }
}
