import type { DeadLetterReason } from '../../domain/headers.js';
import type {
  BusRecord,
  HostRead,
  HostReaderState,
  HostReadOptions,
  PartitionOffset,
  PartitionRef,
  PartitionStart,
} from './bus.js';
import { Dispatcher } from './dispatcher.js';

/** A partition's first kept offset and next offset to be written. */
export interface PartitionBounds extends PartitionRef {
  low: bigint;
  high: bigint;
}

/** The first offset at or after a time, or undefined when no record is that recent. */
export type OffsetForTime = (topic: string, partition: number, timestamp: number) => Promise<bigint | undefined>;

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * One host reader's side of a shared consumer, the same on either bus: where
 * it starts, which records are its (those at or past its own position), its
 * Dispatcher, and the positions it has reached. The consumer that feeds it is
 * the bus's business.
 */
export class HostReaderCore implements HostRead {
  private readonly dispatcher: Dispatcher;
  /** The next offset to hand over, per partition: records before it are not this reader's. */
  private readonly fed = new Map<string, bigint>();
  private readonly reached = new Map<string, PartitionOffset>();
  /** Where each partition ended when the reader started: caught up once reached. */
  private readonly targets = new Map<string, bigint>();
  private stopping: Promise<void> | undefined;
  private readonly graceMs: number;

  constructor(
    readonly options: HostReadOptions,
    deps: {
      deadLetter: (record: BusRecord, reason: DeadLetterReason, error: unknown) => Promise<void>;
      graceMs: number;
      onFull?: () => void;
      onRoom?: () => void;
    },
  ) {
    this.graceMs = deps.graceMs;
    this.dispatcher = new Dispatcher({
      capacity: options.capacity,
      handle: options.handle,
      retry: options.retry,
      observer: options.observer,
      log: options.log,
      deadLetter: deps.deadLetter,
      ...(deps.onFull ? { onFull: deps.onFull } : {}),
      ...(deps.onRoom ? { onRoom: deps.onRoom } : {}),
      commit: (topic, partition, next) => {
        const position = { topic, partition, offset: next };
        this.reached.set(partitionKey(topic, partition), position);
        this.options.onPosition?.(position);
      },
    });
  }

  /**
   * Asks the reader where to start and turns its answer into offsets: a stored
   * position outside what the partition still keeps (a recreated topic, or one
   * past its retention) starts at the first record kept, as Kafka's
   * `auto.offset.reset = earliest` would.
   */
  async begin(bounds: readonly PartitionBounds[], offsetForTime: OffsetForTime): Promise<PartitionOffset[]> {
    const asked = await this.options.startAt(bounds.map(({ topic, partition }) => ({ topic, partition })));
    const wanted = new Map(asked.map((start: PartitionStart) => [partitionKey(start.topic, start.partition), start]));
    const starts: PartitionOffset[] = [];
    for (const bound of bounds) {
      const key = partitionKey(bound.topic, bound.partition);
      const from = wanted.get(key)?.from ?? 'beginning';
      let offset: bigint;
      if (from === 'beginning') offset = bound.low;
      else if (from === 'end') offset = bound.high;
      else if ('timestamp' in from) {
        offset = (await offsetForTime(bound.topic, bound.partition, from.timestamp)) ?? bound.high;
      } else {
        offset = BigInt(from.offset);
        if (offset < bound.low || offset > bound.high) offset = bound.low;
      }
      this.fed.set(key, offset);
      this.targets.set(key, bound.high);
      const position = { topic: bound.topic, partition: bound.partition, offset: String(offset) };
      this.reached.set(key, position);
      starts.push(position);
    }
    return starts;
  }

  /** Whether a record is this reader's: one of its partitions, at or past its position. */
  wants(record: BusRecord): boolean {
    const next = this.fed.get(partitionKey(record.topic, record.partition));
    return this.stopping === undefined && next !== undefined && BigInt(record.offset) >= next;
  }

  /** Hands over records that `wants` accepted, each partition's in offset order. */
  take(records: readonly BusRecord[]): void {
    // One dispatcher call per partition's run of records, not one per record.
    const byPartition = new Map<string, BusRecord[]>();
    for (const record of records) {
      const key = partitionKey(record.topic, record.partition);
      const run = byPartition.get(key);
      if (run) run.push(record);
      else byPartition.set(key, [record]);
    }
    for (const [key, run] of byPartition) {
      if (!this.dispatcher.dispatchBatch(run)) return;
      this.fed.set(key, BigInt((run[run.length - 1] as BusRecord).offset) + 1n);
    }
  }

  hasRoom(): boolean {
    return this.dispatcher.hasRoom();
  }

  whenRoom(): Promise<void> {
    return this.dispatcher.whenRoom();
  }

  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  caughtUp(): boolean {
    for (const [key, target] of this.targets) {
      const reached = this.reached.get(key);
      if (!reached || BigInt(reached.offset) < target) return false;
    }
    return true;
  }

  positions(): PartitionOffset[] {
    return [...this.reached.values()].map((position) => ({ ...position }));
  }

  state(): HostReaderState {
    return {
      id: this.options.id,
      role: this.options.role,
      positions: this.positions(),
      busy: this.dispatcher.busy,
      capacity: this.options.capacity,
    };
  }

  stop(): Promise<void> {
    this.stopping ??= this.dispatcher.drain(this.graceMs);
    return this.stopping;
  }
}
