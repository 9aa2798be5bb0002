import type { CommittedOffset, PartitionOffset } from '../bus/bus.js';
import { fitCompleted, MAX_COMPLETED_METADATA } from './completed-offsets.js';
import type { CapturedMessage } from './transaction-context.js';

/** One partition's done records since its last transaction, and where its prefix stands. */
interface PartitionProgress {
  /** The next offset of the contiguous prefix: every record before it is done. Unknown until a record arrives. */
  base: bigint | undefined;
  /** Done records whose outputs no transaction has carried yet, by offset. */
  held: Map<bigint, CapturedMessage[]>;
  /**
   * Done records past `base` that a transaction already named in its offset
   * metadata (their outputs are in it): every later transaction names them
   * too, until the prefix passes them.
   */
  named: Set<bigint>;
}

/** What one transaction carries: outputs in offset order, and each partition's position with its metadata. */
export interface TransactionContent {
  messages: CapturedMessage[];
  positions: PartitionOffset[];
}

/**
 * Exactly-once: what each done record published, held until a transaction
 * carries it. A transaction commits each partition's contiguous prefix as its
 * offset, and names the records done past it in the offset's metadata, so a
 * record finished behind a slow one goes out in the next transaction rather
 * than waiting for it (head-of-line blocking). Whoever reads the partition
 * after a crash or a rebalance skips the named records (`isDone`). When the
 * names would not fit the broker's metadata cap, the latest records wait for
 * a later transaction, as they all did before.
 */
export class HeldOutputs {
  private readonly partitions = new Map<string, PartitionProgress>();

  constructor(private readonly maxMetadata: number = MAX_COMPLETED_METADATA) {}

  /**
   * The group's committed offset of a partition just assigned or read again
   * (undefined when it has none): its prefix starts there, and the records it
   * names done are skipped. Whatever was held for the partition is dropped.
   */
  restore(key: string, committed: CommittedOffset | undefined): void {
    this.partitions.set(key, {
      base: committed ? BigInt(committed.offset) : undefined,
      held: new Map(),
      named: new Set((committed?.done ?? []).map((offset) => BigInt(offset))),
    });
  }

  /** A partition's records were taken on from `firstOffset`: where its prefix starts, when no commit said. */
  dispatched(key: string, firstOffset: string): void {
    const state = this.state(key);
    state.base ??= BigInt(firstOffset);
  }

  /** True for a record an earlier transaction carried past the prefix: its outputs are out, it is skipped. */
  isDone(key: string, offset: string): boolean {
    return this.partitions.get(key)?.named.has(BigInt(offset)) ?? false;
  }

  /**
   * A record is done, with what it published. Returns the partition's
   * position to commit when its outputs may go out before the prefix reaches
   * the record (the next transaction should carry them), else undefined.
   */
  keep(key: string, offset: string, messages: CapturedMessage[]): PartitionOffset | undefined {
    const state = this.state(key);
    const at = BigInt(offset);
    state.held.set(at, messages);
    if (state.base === undefined || at < state.base) return undefined;
    const [topic = '', partition = '0'] = key.split('\u0000');
    return { topic, partition: Number(partition), offset: state.base.toString() };
  }

  /** The partition's contiguous prefix moved to `nextOffset`. */
  release(key: string, nextOffset: string): void {
    const state = this.state(key);
    const next = BigInt(nextOffset);
    if (state.base !== undefined && next <= state.base) return;
    state.base = next;
    for (const offset of state.named) if (offset < next) state.named.delete(offset);
  }

  /**
   * The content of the next transaction for these positions: the outputs of
   * the records within each prefix, and of those past it that the metadata
   * has room to name; those are taken, and belong to no later transaction.
   */
  take(positions: readonly PartitionOffset[]): TransactionContent {
    const messages: CapturedMessage[] = [];
    const sent: PartitionOffset[] = [];
    for (const position of positions) {
      const key = `${position.topic}\u0000${position.partition}`;
      const state = this.partitions.get(key);
      if (!state) {
        sent.push({ ...position, metadata: '' });
        continue;
      }
      const told = BigInt(position.offset);
      const base = state.base === undefined || state.base < told ? told : state.base;
      const past = [...state.held.keys()].filter((offset) => offset >= base);
      const { metadata, included } = fitCompleted(base, state.named, past, this.maxMetadata);
      const carried = [...state.held.keys()].filter((offset) => offset < base).concat(included);
      carried.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const offset of carried) {
        messages.push(...(state.held.get(offset) ?? []));
        state.held.delete(offset);
      }
      for (const offset of included) state.named.add(offset);
      // Always with its metadata, even empty: the commit replaces what the last one named.
      sent.push({ topic: position.topic, partition: position.partition, offset: base.toString(), metadata });
    }
    return { messages, positions: sent };
  }

  /** Records done and not carried by any transaction yet. */
  get waiting(): number {
    let count = 0;
    for (const state of this.partitions.values()) count += state.held.size;
    return count;
  }

  forget(key: string): void {
    this.partitions.delete(key);
  }

  clear(): void {
    this.partitions.clear();
  }

  private state(key: string): PartitionProgress {
    let state = this.partitions.get(key);
    if (!state) {
      state = { base: undefined, held: new Map(), named: new Set() };
      this.partitions.set(key, state);
    }
    return state;
  }
}
