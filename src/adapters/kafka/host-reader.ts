import pkg from '@confluentinc/kafka-javascript';
import type { Logger } from 'pino';
import type { DeadLetterReason } from '../../domain/headers.js';
import {
  type BusRecord,
  type HostRead,
  type HostReaderState,
  type HostReadOptions,
  NO_HEADERS,
  type RecordHeaders,
} from '../bus/bus.js';
import { HostReaderCore, type PartitionBounds } from '../bus/host-read.js';
import type { KafkaAdmin, KafkaClients } from './client.js';
import { FetchPacer, PACED_FETCH_SETTINGS } from './fetch-pacer.js';

const { KafkaConsumer } = pkg;
type RawConsumer = InstanceType<typeof KafkaConsumer> & {
  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void;
};

/** Records taken per call; the wait is only for the first, so a lone record is handed over at once. */
const BATCH_SIZE = 500;
const POLL_WAIT_MS = 500;
const RETRY_AFTER_ERROR_MS = 1_000;

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export interface KafkaHostReaderOptions {
  clients: KafkaClients;
  admin: KafkaAdmin;
  readUncommitted: boolean;
  /** How long a stopping reader waits for its records in flight. */
  graceMs: number;
  deadLetter: (record: BusRecord, role: string, reason: DeadLetterReason, error: unknown) => Promise<void>;
  log: Logger;
}

interface Assigned {
  topic: string;
  partition: number;
  /** The next offset the consumer hands over. */
  next: bigint;
}

/**
 * The one consumer a process's host readers share (per isolation level): it
 * is assigned every partition of the union of their topics, with no group and
 * no commits, at the lowest position any of them needs, and hands each reader
 * the records at or past its own position. A reader that joins later and
 * needs older records moves the shared position back; the others skip what
 * they already had. A reader with no room holds the next poll, so a slow
 * reader slows the others' catching up, never their correctness.
 */
export class KafkaHostReader {
  /** Readers being fed. */
  private readonly active = new Set<HostReaderCore>();
  /** Readers that joined since the last poll: fed once the consumer is assigned their start positions. */
  private readonly joining = new Set<HostReaderCore>();
  private readonly assigned = new Map<string, Assigned>();
  /** The lowest start each partition needs for the joining readers. */
  private readonly wanted = new Map<string, Assigned>();
  private consumer: RawConsumer | undefined;
  private connecting: Promise<RawConsumer> | undefined;
  private reassign = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** How long to hold the next poll: a few ms while records arrive fast, none when they trickle in. */
  private readonly pacer = new FetchPacer();
  private closed = false;

  constructor(private readonly options: KafkaHostReaderOptions) {}

  async add(readOptions: HostReadOptions): Promise<HostRead> {
    if (this.closed) throw new Error('the Kafka bus is closed');
    const { admin } = this.options;
    const core = new HostReaderCore(readOptions, {
      graceMs: this.options.graceMs,
      deadLetter: (record, reason, error) => this.options.deadLetter(record, readOptions.role, reason, error),
    });
    const bounds: PartitionBounds[] = (
      await Promise.all(
        readOptions.topics.map(async (topic) =>
          (
            await admin.fetchTopicOffsets(topic)
          ).map((entry) => ({
            topic,
            partition: entry.partition,
            low: BigInt(entry.low),
            high: BigInt(entry.high),
          })),
        ),
      )
    ).flat();
    const starts = await core.begin(bounds, async (topic, partition, timestamp) => {
      const found = (await admin.fetchTopicOffsetsByTimestamp(topic, timestamp)).find(
        (entry) => entry.partition === partition,
      );
      // -1: no record at or after that time.
      return found && BigInt(found.offset) >= 0n ? BigInt(found.offset) : undefined;
    });
    await this.connected();
    for (const start of starts) {
      const key = partitionKey(start.topic, start.partition);
      const offset = BigInt(start.offset);
      const before = this.wanted.get(key);
      if (!before || offset < before.next) this.wanted.set(key, { ...start, next: offset });
    }
    this.joining.add(core);
    this.reassign = true;
    this.running ??= this.run();
    this.wake?.();
    readOptions.log.info({ reader: readOptions.id, topics: readOptions.topics }, 'host reader started');
    return {
      caughtUp: () => core.caughtUp(),
      positions: () => core.positions(),
      stop: async () => {
        await core.stop();
        if (this.active.delete(core) || this.joining.delete(core)) {
          // Partitions nobody reads any more are let go at the next poll.
          this.reassign = true;
          this.wake?.();
        }
      },
    };
  }

  readers(): HostReaderState[] {
    return [...this.active, ...this.joining].map((core) => core.state());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.active, ...this.joining].map((core) => core.stop()));
    this.wake?.();
    await this.running;
    await this.connecting?.catch(() => undefined);
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }

  private connected(): Promise<RawConsumer> {
    this.connecting ??= (async () => {
      const consumer = new KafkaConsumer(
        {
          ...(this.options.clients.config({
            'client.id': this.options.readUncommitted ? 'pizza-host-reader-uncommitted' : 'pizza-host-reader',
            // A few MB per partition at most, not librdkafka's 64 MB: these readers keep up easily.
            'queued.max.messages.kbytes': 4096,
            // The pacer's hold between polls, not librdkafka's, sets how often this reader fetches.
            ...PACED_FETCH_SETTINGS,
          }) as Record<string, string | number | boolean>),
          // librdkafka wants a group id; assign() never joins it and nothing is committed.
          'group.id': `pizza-host-reader-${process.pid}`,
          'enable.auto.commit': false,
          'enable.auto.offset.store': false,
          'auto.offset.reset': 'earliest',
          'isolation.level': this.options.readUncommitted ? 'read_uncommitted' : 'read_committed',
        } as never,
        {},
      ) as RawConsumer;
      await new Promise<void>((resolve, reject) =>
        consumer.connect({ timeout: 15_000 }, (err) => (err ? reject(err) : resolve())),
      );
      consumer.setDefaultConsumeTimeout(POLL_WAIT_MS);
      consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
      this.consumer = consumer;
      return consumer;
    })();
    this.connecting.catch(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Applies joins and leaves between polls, so no record of an earlier assignment reaches a joining reader. */
  private applyChanges(consumer: RawConsumer): void {
    this.reassign = false;
    for (const [key, start] of this.wanted) {
      const current = this.assigned.get(key);
      if (!current || start.next < current.next) this.assigned.set(key, { ...start });
    }
    this.wanted.clear();
    for (const core of this.joining) this.active.add(core);
    this.joining.clear();
    const read = new Set([...this.active].flatMap((core) => core.options.topics));
    for (const [key, entry] of this.assigned) if (!read.has(entry.topic)) this.assigned.delete(key);
    consumer.assign(
      [...this.assigned.values()].map(({ topic, partition, next }) => ({ topic, partition, offset: Number(next) })),
    );
  }

  private async run(): Promise<void> {
    // The shared consumer's loop for as long as the bus is open: not a retry, so no p-retry.
    while (!this.closed) {
      const consumer = this.consumer;
      if (!consumer) break;
      if (this.reassign) this.applyChanges(consumer);
      if (this.assigned.size === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      let messages: pkg.Message[];
      try {
        messages = await new Promise<pkg.Message[]>((resolve, reject) =>
          consumer.consume(BATCH_SIZE, (err, batch) => (err ? reject(err) : resolve(batch))),
        );
      } catch (err) {
        this.options.log.debug({ err }, 'host reader poll failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_ERROR_MS));
        continue;
      }
      if (messages.length === 0) continue;
      const records = messages.map(toRecord);
      for (const record of records) {
        const entry = this.assigned.get(partitionKey(record.topic, record.partition));
        if (entry) entry.next = BigInt(record.offset) + 1n;
      }
      await Promise.all([...this.active].map((core) => feed(core, records)));
      // Under load a short hold lets the next fetch bring many records; when they trickle in, none.
      const holdMs = this.pacer.afterBatch(messages.length, Date.now());
      if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
    }
  }
}

/** Hands a reader its records of one poll, waiting for room as it fills. */
async function feed(core: HostReaderCore, records: readonly BusRecord[]): Promise<void> {
  const mine = records.filter((record) => core.wants(record));
  if (mine.length === 0) return;
  // The whole poll at once, one dispatcher call per partition: a reader with room takes it all
  // (at most one poll past its queue limit), and one that is full is waited for first.
  if (!core.hasRoom()) await core.whenRoom();
  if (core.stopped) return;
  core.take(mine);
}

export function toRecord(message: pkg.Message): BusRecord {
  const raw = message.key;
  // The client hands a Buffer of its own per message: used as it is, not copied.
  const key = raw === undefined || raw === null ? null : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  let headers: RecordHeaders = NO_HEADERS;
  if (message.headers && message.headers.length > 0) {
    headers = {};
    for (const header of message.headers) {
      for (const [name, value] of Object.entries(header)) {
        headers[name] = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
      }
    }
  }
  return {
    topic: message.topic,
    partition: message.partition,
    offset: String(message.offset),
    key: key ? key.toString('utf8') : null,
    keyBytes: key,
    value: message.value ?? null,
    timestamp: message.timestamp ?? 0,
    headers,
  };
}
