import type { Logger } from 'pino';

/** One event as a consumer sees it, shaped like a Kafka record. */
export interface BusRecord {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit, so they travel as decimal strings. */
  offset: string;
  /** The key as UTF-8 text: the order id, on every topic the roles read. */
  key: string | null;
  /** The key's bytes as they are, for keys that are not plain text (Schema Registry framing). */
  keyBytes: Buffer | null;
  value: Buffer | null;
  /** The record's timestamp, epoch ms. */
  timestamp: number;
  /** Record headers by name (names in `domain/headers.ts`); a repeated name keeps its last value. */
  headers: RecordHeaders;
}

export type RecordHeaders = Record<string, Buffer>;
/** The headers of every record that has none: one shared object, never written to. */
export const NO_HEADERS: RecordHeaders = Object.freeze({});
/** Headers as a publisher gives them: text is sent as UTF-8. */
export type OutgoingHeaders = Record<string, string | Buffer>;

export interface Delivery {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Does the work for one record. `signal` aborts when the record is taken back
 * (its partition moved to another member, or the subscription is stopping):
 * the handler should give up at once, and the record is redelivered.
 */
export type RecordHandler = (record: BusRecord, signal: AbortSignal) => Promise<void>;

/** How a failed handler's error should be treated; see `adapters/bus/failures.ts`. */
export type FailureKind = 'bad-event' | 'permanent' | 'transient' | 'unavailable';

export interface SubscribeOptions {
  groupId: string;
  clientId: string;
  topics: string[];
  /**
   * Most records in the hands of the handler at once. Records are taken on in
   * partition order; two records with the same key (one order's events) never
   * run at once, so their order holds, while different orders overlap.
   */
  capacity: number;
  /**
   * Does the work for one record and resolves once its output is published;
   * only then is the record acknowledged. A rejection is classified: a bad
   * event or a permanent error goes to the dead-letter topic at once; a
   * transient one is retried with back-off, a bounded number of times, then
   * dead-lettered; "the broker is unavailable" waits, however long, and is
   * never dead-lettered.
   */
  handle: RecordHandler;
  /** Named in dead letters' headers, so an operator knows who gave up on a record. */
  role: string;
  /** Transient failures: attempts before dead-lettering, and the back-off between them. */
  retry?: RetryPolicy;
  /**
   * Runs when partitions are assigned, before any of their records is handed
   * over (the partitions wait meanwhile): restore state, or say where to read
   * from. Offsets it returns replace the group's committed ones; partitions it
   * leaves out resume from those.
   */
  onAssigned?: (partitions: PartitionRef[]) => Promise<PartitionOffset[] | undefined>;
  /** Called each time a partition's committable position moves, with the next offset to read. */
  onCommit?: (position: PartitionOffset) => void;
  /** Hears what happens to each record, for metrics. */
  observer?: DispatchObserver;
  /**
   * Read records of transactions not yet committed (Kafka's read_uncommitted).
   * For a topic written by a transactional producer that commits rarely
   * (Confluent Cloud's Flink, about once a minute), at the cost of seeing
   * records of a transaction that is later aborted.
   */
  readUncommitted?: boolean;
  /**
   * Names this member stably across restarts (the host id): in exactly-once
   * mode its transactional id, so a restarted instance fences its zombie.
   */
  instanceId?: string;
  log: Logger;
}

export interface DispatchObserver {
  started(record: BusRecord): void;
  /** `abandoned`: revoked or stopping; it will be read again, by whoever owns its partition. */
  finished(record: BusRecord, seconds: number, outcome: 'handled' | 'dead_lettered' | 'abandoned'): void;
  /** One attempt failed, and how it was classified. */
  failed(record: BusRecord, kind: FailureKind): void;
}

export interface PartitionRef {
  topic: string;
  partition: number;
}

export interface PartitionOffset extends PartitionRef {
  /** The next offset to read, as a decimal string. */
  offset: string;
  /** Committed with the offset (Kafka's offset metadata, at most 4,096 bytes by default). */
  metadata?: string;
}

/** A group's committed offset of a partition. */
export interface CommittedOffset extends PartitionOffset {
  /**
   * Exactly-once: records past `offset` that were already worked on, their
   * outputs committed with this offset (named in its metadata). Whoever reads
   * the partition next skips them, and state rebuilt up to the offset includes them.
   */
  done?: readonly string[];
}

/** Part of a partition to read: from an offset or a time (or the start), up to an end offset (exclusive). */
export interface PartitionRange extends PartitionRef {
  fromOffset?: string;
  /** Epoch ms: start at the first record at or after it. */
  fromTimestamp?: number;
  /** Left out: up to the end the partition has when the read begins. */
  toOffset?: string;
}

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface Subscription {
  /** True once the member has joined its group (with or without partitions): it is ready for work. */
  joined(): boolean;
  /**
   * Stops taking records, waits for the ones in flight (up to the bus's grace
   * period), acknowledges what is done and leaves the group. What was not done
   * is redelivered to whoever owns the partition next. Idempotent.
   */
  stop(): Promise<void>;
}

/** Where a host reader starts a partition: a stored position, the beginning, the end, or a time. */
export type ReadFrom = 'beginning' | 'end' | { offset: string } | { timestamp: number };

export interface PartitionStart extends PartitionRef {
  from: ReadFrom;
}

/**
 * A reader that keeps a whole copy on this host (the status view, the cancel
 * requests, logouts, log lines, role reports): it reads every partition of its
 * topics, joins no consumer group and commits nothing. It says where to start
 * and keeps its own positions (in SQLite, or nowhere for state rebuilt at each
 * start). All of a process's host readers share one consumer per isolation
 * level; each is handed only records at or past its own position.
 */
export interface HostReadOptions {
  /**
   * Names the reader on this host, stably across restarts: in logs, role
   * reports and the lineage page. By convention the per-host group id it had
   * before readers shared a consumer (`<base>.host.<host id>`), so lineage
   * and lag metrics keep their names.
   */
  id: string;
  topics: string[];
  /** Asked once at the start, with every partition of its topics; a partition left out starts at the beginning. */
  startAt(partitions: PartitionRef[]): Promise<PartitionStart[]> | PartitionStart[];
  /**
   * The work for one record, under the same rules as a subscription's
   * (`SubscribeOptions.handle`): per-key order, `capacity` at once, transient
   * failures retried, bad events dead-lettered, never blocking other readers'
   * records for longer than its queue takes to fill.
   */
  handle: RecordHandler;
  capacity: number;
  /** Called each time a partition's position moves (every record before it handled), to be stored. */
  onPosition?: (position: PartitionOffset) => void;
  /** Named in dead letters' headers, and the role its work is reported under. */
  role: string;
  retry?: RetryPolicy;
  observer?: DispatchObserver;
  /** See `SubscribeOptions.readUncommitted`: such readers share a consumer of their own. */
  readUncommitted?: boolean;
  log: Logger;
}

export interface HostRead {
  /** True once every partition is read up to where its end was when the reader started. */
  caughtUp(): boolean;
  /** Its positions now: the next offset to handle, per partition. */
  positions(): PartitionOffset[];
  /** Stops taking records and waits for those in flight (up to the bus's grace period). Idempotent. */
  stop(): Promise<void>;
}

/** What a process's host readers say about themselves: for role reports, the lineage page and lag metrics. */
export interface HostReaderState {
  id: string;
  role: string;
  positions: PartitionOffset[];
  /** Records being worked on now, and at most. */
  busy: number;
  capacity: number;
}

/**
 * What the roles need from Kafka, and all they may use: keyed publishing,
 * consumer groups with committed offsets, and host readers. Implemented in process (embedded)
 * and on Apache Kafka.
 */
export interface Bus {
  readonly kind: 'embedded' | 'kafka';
  publish(topic: string, key: string | Buffer, value: Buffer | null, headers?: OutgoingHeaders): Promise<Delivery>;
  /** Fails with a clear message when a topic a role will use does not exist. */
  requireTopics(topics: string[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Starts a host reader (see HostReadOptions): every partition of its topics, from where it says, with no group. */
  read(options: HostReadOptions): Promise<HostRead>;
  /** The host readers running in this process now. */
  hostReaders(): HostReaderState[];
  /** Whether the broker can be reached now, and when that last changed (epoch ms). */
  connectivity(): Connectivity;
  /** Every record on a topic from the start, for tools that list a small topic (dead letters). */
  readTopic(topic: string): Promise<BusRecord[]>;
  /** Reads parts of partitions without joining a group: for restoring a role's state from its inputs. */
  readRanges(ranges: readonly PartitionRange[]): Promise<BusRecord[]>;
  /** A group's committed next offsets for these partitions; partitions with none are left out. */
  committedOffsets(groupId: string, partitions: readonly PartitionRef[]): Promise<CommittedOffset[]>;
  /** Stops every subscription and releases the bus. Idempotent. */
  close(): Promise<void>;
}

export interface Connectivity {
  up: boolean;
  /** When the broker last became reachable or unreachable; the bus's start when it never changed. */
  since: number;
  /** Outages seen since the bus started. */
  outages: number;
}
