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
}

export interface Delivery {
  topic: string;
  partition: number;
  offset: string;
}

export type RecordHandler = (record: BusRecord) => Promise<void>;

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
   * only then is the record acknowledged. A rejection means "not now": the
   * record is retried with back-off, and never acknowledged until it succeeds.
   * A record that can never succeed must be logged and resolved by the handler.
   */
  handle: RecordHandler;
  log: Logger;
}

export interface Subscription {
  /**
   * Stops taking records, waits for the ones in flight (up to the bus's grace
   * period), acknowledges what is done and leaves the group. What was not done
   * is redelivered to whoever owns the partition next. Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * What the roles need from Kafka, and all they may use: keyed publishing and
 * consumer groups with committed offsets. Implemented in process (embedded)
 * and on Apache Kafka.
 */
export interface Bus {
  readonly kind: 'embedded' | 'kafka';
  publish(topic: string, key: string, value: Buffer): Promise<Delivery>;
  /** Fails with a clear message when a topic a role will use does not exist. */
  requireTopics(topics: string[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Stops every subscription and releases the bus. Idempotent. */
  close(): Promise<void>;
}
