import type { Logger } from 'pino';
import type { Clock } from '../../../domain/clock.js';
import { type BusRecord, NO_HEADERS, type PartitionRef, type RecordHeaders } from '../../bus/bus.js';
import { partitionKey } from './partitions.js';

/** A record as the client's `eachBatch` hands it over. */
export interface ClientMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  timestamp: string;
  headers?: Record<string, unknown> | undefined;
}

/** What the consume loop uses of the client's `eachBatch` payload. */
export interface ClientBatch {
  batch: { topic: string; partition: number; messages: ClientMessage[] };
  /** Marks the batch consumed up to this offset; what is not marked is read again (the client seeks back). */
  resolveOffset(offset: string): void;
}

/** Pausing and resuming the fetching of partitions, as the consumer offers it. */
export interface FetchControl {
  pause(topics: Array<{ topic: string; partitions: number[] }>): void;
  resume(topics: Array<{ topic: string; partitions: number[] }>): void;
}

/**
 * Says how long the consume loop holds its next pull after a batch: a few ms
 * when records arrive fast, so each fetch brings more of them, and none in a
 * quiet shop (`src/adapters/kafka/fetch-pacer.ts`).
 */
export interface FetchPacer {
  /** `source` names the partition, so the batches of one fetch share one hold. */
  afterBatch(records: number, now: number, source?: string): number;
}

/** What the loop hands each batch to: the Dispatcher's batch side. */
export interface BatchSink {
  dispatchBatch(records: readonly BusRecord[]): boolean;
  hasRoom(): boolean;
}

/**
 * The partitions whose fetching we paused while the dispatcher was full. The
 * client reads on from the last record it handed us when they resume.
 */
export class PausedPartitions {
  private readonly paused = new Map<string, PartitionRef>();

  constructor(
    private readonly consumer: FetchControl,
    private readonly log: Logger,
    private readonly stopping: () => boolean,
  ) {}

  get size(): number {
    return this.paused.size;
  }

  pause(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    if (this.paused.has(key)) return;
    this.paused.set(key, { topic, partition });
    try {
      this.consumer.pause([{ topic, partitions: [partition] }]);
    } catch (err) {
      this.log.debug({ err, topic, partition }, 'could not pause fetching');
    }
  }

  resumeAll(): void {
    if (this.stopping() || this.paused.size === 0) return;
    const partitions = [...this.paused.values()];
    this.paused.clear();
    for (const { topic, partition } of partitions) {
      try {
        this.consumer.resume([{ topic, partitions: [partition] }]);
      } catch (err) {
        this.log.debug({ err, topic, partition }, 'could not resume fetching');
      }
    }
  }

  /** Newly assigned partitions: one paused in an earlier assignment must not come back paused. */
  resumeAssigned(partitions: readonly PartitionRef[]): void {
    for (const tp of partitions) this.paused.delete(partitionKey(tp.topic, tp.partition));
    try {
      this.consumer.resume(partitions.map((tp) => ({ topic: tp.topic, partitions: [tp.partition] })));
    } catch (err) {
      this.log.debug({ err }, 'could not resume newly assigned partitions');
    }
  }

  forget(key: string): void {
    this.paused.delete(key);
  }
}

export interface ConsumeLoopOptions {
  sink: BatchSink;
  fetching: PausedPartitions;
  owns: (key: string) => boolean;
  /** Exactly-once: the partition is being read again from its last commit. */
  restarting: (key: string) => boolean;
  stopping: () => boolean;
  exactlyOnce: boolean;
  clock: Clock;
  pacer?: FetchPacer | undefined;
}

/**
 * The client's `eachBatch`: one partition's records at a time, handed to the
 * dispatcher in one call. It never waits for the work: a full dispatcher
 * pauses fetching instead, so a slow record never stops other partitions from
 * being read (upstream #247/#468) and a rebalance is never held up here. Runs
 * with `eachBatchAutoResolve` off: what it does not resolve, the client reads again.
 */
export class ConsumeLoop {
  constructor(private readonly options: ConsumeLoopOptions) {}

  readonly eachBatch = async (payload: ClientBatch): Promise<void> => {
    const { topic, partition, messages } = payload.batch;
    const last = messages[messages.length - 1];
    if (!last) return;
    const { options } = this;
    // Not resolved: the next owner reads them again.
    if (options.stopping()) return;
    const key = partitionKey(topic, partition);
    // Exactly-once: read past the last commit before a failed transaction; they come again after the seek back.
    if (options.restarting(key)) return payload.resolveOffset(last.offset);
    if (!options.owns(key)) {
      // Exactly-once: a partition always starts from its committed offset when it comes back
      // (assignment or start-over), so these are simply not worked on. A seek back would be kept
      // by the client once the partition is gone and applied to its next assignment instead of
      // the committed offset, with the leader epoch of before a broker restart.
      if (options.exactlyOnce) payload.resolveOffset(last.offset);
      // At-least-once: left unresolved, the client seeks back, and whoever owns the partition
      // reads them; consumed, a later record's commit would pass them.
      return;
    }
    const records = messages.map((message) => busRecord(topic, partition, message));
    options.sink.dispatchBatch(records);
    // Before a pause: the client marks the batch stale on pause and would read it all again.
    payload.resolveOffset(last.offset);
    if (!options.sink.hasRoom()) options.fetching.pause(topic, partition);
    const holdMs = options.pacer?.afterBatch(messages.length, options.clock.now(), key) ?? 0;
    if (holdMs > 0) await options.clock.sleep(holdMs);
  };
}

export function busRecord(topic: string, partition: number, message: ClientMessage): BusRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString('utf8') : null,
    keyBytes: message.key ?? null,
    value: message.value,
    timestamp: Number(message.timestamp),
    headers: recordHeaders(message.headers),
  };
}

/** The client gives header values as Buffers or strings, repeated names as arrays; the last one wins. */
export function recordHeaders(headers: Record<string, unknown> | undefined): RecordHeaders {
  // Most records carry none, and the client then gives none: no object made per record.
  if (headers === undefined) return NO_HEADERS;
  let result: RecordHeaders | undefined;
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined || value === null) continue;
    result ??= {};
    result[name] = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
  }
  return result ?? NO_HEADERS;
}
