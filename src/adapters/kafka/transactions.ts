import type { Logger } from 'pino';
import { retryUntilDone } from '../../domain/backoff.js';
import { type Clock, systemClock } from '../../domain/clock.js';
import type { PartitionOffset } from '../bus/bus.js';
import type { KafkaConsumer, KafkaProducer } from './client.js';
import { kafkaErrorVerdict } from './errors.js';
import type { CapturedMessage } from './transaction-context.js';

/** The next offset to read of one partition, as a transaction commits it, with its metadata if any. */
export type PartitionPosition = PartitionOffset;

/** What the transactional sender uses of the client's internal (rdkafka-style) clients. */
interface InternalProducer {
  sendOffsetsToTransaction(
    offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string }>,
    consumer: unknown,
    timeoutMs: number,
    callback: (err: unknown) => void,
  ): void;
}
interface InternalConsumer {
  /** librdkafka's flag: the group took our assignment back (session expired); cleared once we let it go. */
  assignmentLost(): boolean;
}
interface WithInternalClient<T> {
  _getInternalClient(): T | null;
}

/** How long librdkafka may take to add the offsets to the transaction (the client's own default). */
const SEND_OFFSETS_TIMEOUT_MS = 5_000;

export interface TransactionalSenderOptions {
  producer: KafkaProducer;
  /**
   * A new producer with the same transactional id. Its start fences the old
   * one and makes the coordinator end the old one's open transaction.
   */
  renew: () => Promise<KafkaProducer>;
  log: Logger;
  /** True once the subscription stops: a replacement is not worth waiting for then. */
  stopping: () => boolean;
  /** The waits between attempts to make a replacement; the system clock when not given. */
  clock?: Clock | undefined;
  /** How often a commit that timed out is resumed before the transaction is given up. */
  commitAttempts?: number;
}

/*
 * librdkafka marks its transactional errors retriable, abortable or fatal, but
 * the client's KafkaJS errors lose the marks on the way (1.10: it reads
 * `retriable` where the binding sets `isRetriable`), so the codes decide, as
 * `kafka/errors.ts` reads them.
 */

/** What became of a transaction that did not fail. */
export type SendResult = 'committed' | 'taken back';

/** Ends a transaction whose partitions were taken back since its records were read: it is aborted. */
class TakenBack extends Error {
  constructor() {
    super('the partitions were revoked or lost since their records were read');
    this.name = 'TakenBack';
  }
}

/** A commit that timed out goes on in the background; calling commit again resumes it. */
const resumable = (error: unknown) => kafkaErrorVerdict(error)?.kind === 'timeout';

/** The producer cannot go on: it must be replaced, not asked to abort. */
const fatal = (error: unknown) => kafkaErrorVerdict(error)?.kind === 'fatal';

/**
 * Sends one transaction at a time on a transactional producer: outputs, then
 * the input offsets, then the commit. When a transaction fails, it leaves the
 * producer ready for the next one, as librdkafka's error classes require: a
 * timed-out commit is resumed, an abortable error is aborted, and a producer
 * that cannot abort (a fatal error, or a broker that went away mid-transaction)
 * is replaced by a new one with the same id.
 */
export class TransactionalSender {
  private producer: KafkaProducer;
  private readonly commitAttempts: number;
  /** One operation at a time: a producer has one transaction at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * The outputs of the last transaction whose commit was asked for: if the
   * broker went down before writing its markers, this is what may be left open.
   */
  private inDoubt: CapturedMessage[] = [];

  constructor(private readonly options: TransactionalSenderOptions) {
    this.producer = options.producer;
    this.commitAttempts = options.commitAttempts ?? 3;
  }

  /**
   * Resolves 'committed' once the transaction committed, or 'taken back' when
   * it was aborted because `stillOurs` turned false (the positions' partitions
   * were revoked or lost since their records were read); rejects when it
   * failed otherwise. Nothing of a transaction that did not commit is visible.
   */
  send(
    consumer: KafkaConsumer,
    messages: CapturedMessage[],
    positions: PartitionPosition[],
    stillOurs: () => boolean = () => true,
  ): Promise<SendResult> {
    const fence = () => {
      if (!stillOurs() || assignmentLost(consumer)) throw new TakenBack();
    };
    const sending = this.serially(async (transaction) => {
      if (messages.length > 0) await transaction.sendBatch({ topicMessages: byTopic(messages) });
      fence();
      await sendOffsetsToTransaction(transaction, consumer, positions);
      // The client reads the consumer's group metadata (member id and generation) some time
      // during the call, not when it is made: after a rebalance it sends the offsets in the
      // new generation, and the coordinator takes them (KIP-447 fences only an older one).
      // Only a check after the call tells: a generation newer than the records' means a
      // revoke came first, and a lost assignment is flagged until we let it go.
      fence();
      this.inDoubt = messages;
      await this.commit(transaction);
    });
    return sending.then(
      (): SendResult => 'committed',
      (error: unknown): SendResult => {
        if (error instanceof TakenBack) return 'taken back';
        throw error;
      },
    );
  }

  /**
   * Ends what a broker may have left open under this producer's id. A broker
   * that restarts while a commit is under way can give up writing the
   * transaction's markers ("Couldn't find leader endpoint ... skipped"), and
   * leave its offsets pending in the group for good: every read-committed
   * consumer of the group then waits forever to learn where to start
   * (UNSTABLE_OFFSET_COMMIT). The group coordinator settles the pending offsets
   * of a producer id at the next marker of that id, so this runs a transaction
   * that touches the group (and the partitions of the last outputs, so their
   * records are ended the same way) and aborts it: the records of the open
   * transaction are dropped with its offsets, and are worked on again from
   * the last settled commit.
   */
  settle(consumer: KafkaConsumer, positions: PartitionPosition[]): Promise<void> {
    return this.serially(async (transaction) => {
      // One null record per key and topic: the same keys land on the same partitions.
      const touched = new Map(this.inDoubt.map(({ topic, key }) => [`${topic}\u0000${String(key)}`, { topic, key }]));
      const markers = [...touched.values()].map(({ topic, key }) => ({ topic, key, value: null }));
      if (markers.length > 0) await transaction.sendBatch({ topicMessages: byTopic(markers) });
      try {
        await sendOffsetsToTransaction(transaction, consumer, positions);
      } catch (err) {
        // The group's partition joined the transaction before the offsets were refused, if it did at all.
        this.options.log.debug({ err }, 'offsets refused while settling; aborting all the same');
      }
      await transaction.abort();
      this.inDoubt = [];
    });
  }

  async close(): Promise<void> {
    await this.queue.catch(() => {});
    await this.producer.disconnect();
  }

  private serially(work: (transaction: KafkaProducer) => Promise<void>): Promise<void> {
    const run = async () => {
      const producer = this.producer;
      let transaction: KafkaProducer;
      try {
        transaction = await producer.transaction();
      } catch (error) {
        // A producer that cannot begin a transaction is stuck (fatal, or still in an earlier one).
        await this.replace(producer);
        throw error;
      }
      try {
        await work(transaction);
      } catch (error) {
        await this.end(producer, error);
        throw error;
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  /** A commit that timed out goes on in the background; calling commit again resumes it rather than racing it. */
  private async commit(transaction: KafkaProducer): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await transaction.commit();
        return;
      } catch (error) {
        if (!resumable(error) || attempt >= this.commitAttempts || this.options.stopping()) throw error;
        this.options.log.debug({ err: error, attempt }, 'transaction commit not confirmed yet; resuming it');
      }
    }
  }

  /** Ends a failed transaction: aborted when the producer can, else the producer is replaced. */
  private async end(producer: KafkaProducer, error: unknown): Promise<void> {
    if (!fatal(error)) {
      try {
        await producer.abort();
        return;
      } catch (err) {
        this.options.log.debug({ err }, 'could not abort the transaction; replacing the producer');
      }
    }
    await this.replace(producer);
  }

  private async replace(stuck: KafkaProducer): Promise<void> {
    if (stuck !== this.producer) return;
    await stuck.disconnect().catch(() => {});
    const renewed = await retryUntilDone(this.options.clock ?? systemClock, () => this.options.renew(), {
      backoff: { initialMs: 1_000, maxMs: 5_000 },
      moot: this.options.stopping,
      onFailure: (err, attempt) =>
        this.options.log.debug({ err, attempt }, 'could not make a new transactional producer yet'),
    });
    if (!renewed) return;
    this.producer = renewed;
    this.options.log.info('transactional producer replaced');
  }
}

function byTopic(messages: CapturedMessage[]) {
  const grouped = new Map<string, CapturedMessage[]>();
  for (const message of messages) grouped.set(message.topic, [...(grouped.get(message.topic) ?? []), message]);
  return [...grouped].map(([topic, list]) => ({
    topic,
    messages: list.map(({ key, value, headers }) => ({ key, value, ...(headers ? { headers } : {}) })),
  }));
}

/** librdkafka's own word, which it gives before our rebalance callback hears of the loss. */
function assignmentLost(consumer: KafkaConsumer): boolean {
  return (consumer as unknown as WithInternalClient<InternalConsumer>)._getInternalClient()?.assignmentLost() ?? false;
}

/**
 * Adds the consumer's offsets to the open transaction through the rdkafka-style
 * call, which carries each offset's metadata to the group (the KafkaJS-style
 * `sendOffsets` drops it). The KafkaJS-style producer still begins and commits
 * the transaction: both share one librdkafka handle.
 */
function sendOffsetsToTransaction(
  transaction: KafkaProducer,
  consumer: KafkaConsumer,
  positions: PartitionPosition[],
): Promise<void> {
  const producer = (transaction as unknown as WithInternalClient<InternalProducer>)._getInternalClient();
  const internalConsumer = (consumer as unknown as WithInternalClient<unknown>)._getInternalClient();
  if (!producer || !internalConsumer) {
    return Promise.reject(new Error('the transactional producer or its consumer is not connected'));
  }
  const offsets = positions.map(({ topic, partition, offset, metadata }) => ({
    topic,
    partition,
    offset: Number(offset),
    ...(metadata === undefined ? {} : { metadata }),
  }));
  return new Promise((resolve, reject) =>
    producer.sendOffsetsToTransaction(offsets, internalConsumer, SEND_OFFSETS_TIMEOUT_MS, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}
