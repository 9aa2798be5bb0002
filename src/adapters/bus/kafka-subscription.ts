import type { DeadLetterReason } from '../../domain/headers.js';
import { HANDED_BACK, type KafkaClients, type KafkaConsumer, type KafkaProducer } from '../kafka/client.js';
import type { BusRecord, RecordHeaders, SubscribeOptions, Subscription } from './bus.js';
import { Dispatcher } from './dispatcher.js';
import { type CapturedMessage, captureOutputs } from './transaction-context.js';

export interface KafkaSubscriptionSettings {
  /**
   * Exactly-once: a transactional producer of this subscription's own. The
   * outputs of a record are sent in the transaction that commits its offset.
   */
  transactional?: KafkaProducer | undefined;
  /** Makes a new transactional producer with the same id, when the old one is stuck (an abort that failed). */
  renewTransactional?: (() => Promise<KafkaProducer>) | undefined;
  /** How long `stop()` waits for records in flight before handing them back. */
  shutdownGraceMs: number;
  /** A member that stops heartbeating loses its partitions after this long: the crash failover time. */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  deadLetter: (record: BusRecord, reason: DeadLetterReason, error: unknown) => Promise<void>;
}

/** How long subscribe waits to join the group; a member that joined has a defined share of the work. */
const JOIN_WAIT_MS = 30_000;

/** Done offsets are gathered for this long and committed together, not one request per record. */
const COMMIT_INTERVAL_MS = 100;

interface TopicPartition {
  topic: string;
  partition: number;
}

interface PartitionPosition extends TopicPartition {
  offset: string;
}

interface RebalanceError {
  code: number;
}

// librdkafka's rebalance event codes (RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS / __REVOKE_PARTITIONS).
const ASSIGN_PARTITIONS = -175;
const REVOKE_PARTITIONS = -174;

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * One consumer group member. librdkafka fetches; every record goes to the
 * Dispatcher, which runs up to `capacity` at once and says which offset is
 * safe to commit. `eachMessage` only waits while the Dispatcher is full, so a
 * slow record never stops other partitions or topics from being read (the
 * cross-topic blocking of upstream #247/#468 comes from handlers that hold
 * `eachMessage`, and `partitionsConsumedConcurrently` is not needed, #223).
 */
export async function subscribeKafka(
  clients: KafkaClients,
  options: SubscribeOptions,
  settings: KafkaSubscriptionSettings,
): Promise<Subscription> {
  const { log } = options;
  /** Partitions we own now, each with the generation it was assigned in. */
  const owned = new Map<string, number>();
  const pending = new Map<string, { topic: string; partition: number; offset: string }>();
  let generation = 0;
  let flushTimer: NodeJS.Timeout | undefined;
  let committing: Promise<void> = Promise.resolve();
  let stopping = false;
  let consumer: KafkaConsumer | undefined;
  let joined!: () => void;
  const firstAssignment = new Promise<void>((resolve) => {
    joined = resolve;
  });

  let transactional = settings.transactional;
  /** Exactly-once: each done record's outputs, by partition and offset, until their transaction. */
  const outputs = new Map<string, Map<bigint, CapturedMessage[]>>();
  /** Exactly-once: outputs whose records are all committable, in offset order, for the next transaction. */
  const ready = new Map<string, CapturedMessage[]>();
  const keep = (record: BusRecord, messages: CapturedMessage[]) => {
    const key = tpKey(record.topic, record.partition);
    const byOffset = outputs.get(key) ?? new Map<bigint, CapturedMessage[]>();
    byOffset.set(BigInt(record.offset), messages);
    outputs.set(key, byOffset);
  };
  const release = (key: string, nextOffset: string) => {
    const byOffset = outputs.get(key);
    if (!byOffset) return;
    const upTo = BigInt(nextOffset);
    const offsets = [...byOffset.keys()].filter((offset) => offset < upTo).sort((a, b) => (a < b ? -1 : 1));
    const batch = ready.get(key) ?? [];
    for (const offset of offsets) {
      batch.push(...(byOffset.get(offset) ?? []));
      byOffset.delete(offset);
    }
    ready.set(key, batch);
  };

  /**
   * One transaction: the outputs of every record before the offsets, then the
   * offsets themselves. Nothing of it is seen by read-committed consumers
   * unless all of it is.
   */
  const commitTransaction = async (producer: KafkaProducer, batch: Array<[string, PartitionPosition]>) => {
    // Taken now: outputs released while this transaction is under way belong to the next one.
    const messages = batch.flatMap(([key]) => {
      const taken = ready.get(key) ?? [];
      ready.delete(key);
      return taken;
    });
    const transaction = await producer.transaction();
    let aborted = false;
    try {
      const byTopic = new Map<string, CapturedMessage[]>();
      for (const message of messages) byTopic.set(message.topic, [...(byTopic.get(message.topic) ?? []), message]);
      if (byTopic.size > 0) {
        await transaction.sendBatch({
          topicMessages: [...byTopic].map(([topic, list]) => ({
            topic,
            messages: list.map(({ key, value, headers }) => ({ key, value, ...(headers ? { headers } : {}) })),
          })),
        });
      }
      const byTopicOffsets = new Map<string, Array<{ partition: number; offset: string }>>();
      for (const [, position] of batch) {
        byTopicOffsets.set(position.topic, [
          ...(byTopicOffsets.get(position.topic) ?? []),
          { partition: position.partition, offset: position.offset },
        ]);
      }
      await transaction.sendOffsets({
        consumer: consumer as KafkaConsumer,
        topics: [...byTopicOffsets].map(([topic, partitions]) => ({ topic, partitions })),
      });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().then(
        () => {
          aborted = true;
        },
        () => {},
      );
      // A transaction that could not be aborted (the broker was away) leaves the producer
      // unable to start another: replace it; the same id makes the coordinator abort the old one.
      if (!aborted) await renewProducer(producer);
      throw error;
    }
  };

  const renewProducer = async (stuck: KafkaProducer) => {
    if (!settings.renewTransactional || stopping) return;
    await stuck.disconnect().catch(() => {});
    for (let attempt = 1; !stopping; attempt += 1) {
      try {
        transactional = await settings.renewTransactional();
        return;
      } catch (err) {
        log.debug({ err, attempt }, 'could not make a new transactional producer yet');
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000 * attempt, 5_000)));
      }
    }
  };

  /**
   * After an aborted transaction: everything since the last commit is worked on
   * again, as if the partitions had just been assigned to us (state restored
   * from the committed offsets, reading resumed from them).
   */
  const startOver = async () => {
    if (!consumer || stopping) return;
    const partitions = [...owned.keys()].map((key) => {
      const [topic = '', partition = '0'] = key.split('\u0000');
      return { topic, partition: Number(partition) };
    });
    for (const { topic, partition } of partitions) dispatcher.revoke(topic, partition);
    outputs.clear();
    ready.clear();
    pending.clear();
    if (partitions.length === 0) return;
    await options.onAssigned?.(partitions);
    const committed = await consumer.committed(partitions);
    for (const position of committed) {
      const offset = position.offset !== null && BigInt(position.offset) >= 0n ? position.offset : '0';
      consumer.seek({ topic: position.topic, partition: position.partition, offset });
    }
    resumeAll();
  };

  /** Sends the gathered offsets, one commit request at a time so they can never land out of order. */
  const flush = (only?: Set<string>): Promise<void> => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    committing = committing.then(async () => {
      const batch = [...pending].filter(([key]) => !only || only.has(key));
      if (batch.length === 0 || !consumer) return;
      for (const [key] of batch) pending.delete(key);
      if (transactional) {
        try {
          await commitTransaction(transactional, batch);
          clients.watch.reachable();
        } catch (err) {
          // The transaction is gone, and with it the outputs: the records must be worked on again.
          log.error({ err }, 'a transaction failed; working on its records again from the last commit');
          await startOver();
        }
        return;
      }
      try {
        await consumer.commitOffsets(batch.map(([, offset]) => offset));
        clients.watch.reachable();
      } catch (err) {
        // During an outage the watch reports it; each failed commit is detail.
        (clients.watch.state().up ? log.warn.bind(log) : log.debug.bind(log))(
          { err, offsets: batch.map(([, offset]) => offset) },
          'commit failed; the records will be redelivered if not committed later',
        );
        // Put back what is still ours and not superseded, for the next flush.
        for (const [key, offset] of batch) if (owned.has(key) && !pending.has(key)) pending.set(key, offset);
        if (!stopping && pending.size > 0) scheduleFlush();
      }
    });
    return committing;
  };
  const scheduleFlush = () => {
    flushTimer ??= setTimeout(() => void flush(), COMMIT_INTERVAL_MS);
  };

  /** Partitions whose fetching we paused while the dispatcher was full. */
  const paused = new Map<string, TopicPartition>();
  const pausePartition = (topic: string, partition: number) => {
    const key = tpKey(topic, partition);
    if (paused.has(key) || !consumer) return;
    paused.set(key, { topic, partition });
    try {
      consumer.pause([{ topic, partitions: [partition] }]);
    } catch (err) {
      log.debug({ err, topic, partition }, 'could not pause fetching');
    }
  };
  /** The client reads on from the last record it handed us. */
  const resumeAll = () => {
    if (!consumer || stopping || paused.size === 0) return;
    const partitions = [...paused.values()];
    paused.clear();
    for (const { topic, partition } of partitions) {
      try {
        consumer.resume([{ topic, partitions: [partition] }]);
      } catch (err) {
        log.debug({ err, topic, partition }, 'could not resume fetching');
      }
    }
  };

  const dispatcher = new Dispatcher({
    capacity: options.capacity,
    // Exactly-once: what the handler publishes is kept for the transaction, and only
    // what a successful attempt published (a failed attempt's outputs are dropped).
    handle: transactional
      ? async (record, signal) => {
          const messages: CapturedMessage[] = [];
          await captureOutputs(messages, () => options.handle(record, signal));
          keep(record, messages);
        }
      : options.handle,
    retry: options.retry,
    observer: options.observer,
    deadLetter: transactional
      ? async (record, reason, error) => {
          const messages: CapturedMessage[] = [];
          await captureOutputs(messages, () => settings.deadLetter(record, reason, error));
          keep(record, messages);
        }
      : settings.deadLetter,
    onRoom: resumeAll,
    log,
    commit: (topic, partition, nextOffset) => {
      const key = tpKey(topic, partition);
      if (!owned.has(key)) return;
      if (transactional) release(key, nextOffset);
      options.onCommit?.({ topic, partition, offset: nextOffset });
      pending.set(key, { topic, partition, offset: nextOffset });
      scheduleFlush();
    },
  });

  /**
   * Called by librdkafka before partitions move. On revoke, what is done is
   * committed while we still own it; work in flight is handed back (its
   * records come again to the next owner). Assignment is left to the client.
   */
  const onRebalance = async (
    err: RebalanceError,
    assignment: TopicPartition[],
  ): Promise<Array<TopicPartition & { offset?: number }> | undefined> => {
    if (err.code === ASSIGN_PARTITIONS) {
      // Before the client applies the assignment, so no record of these partitions arrives
      // until their state is restored; heartbeats go on meanwhile.
      const starts = options.onAssigned ? await prepareAssigned(assignment) : undefined;
      generation += 1;
      for (const tp of assignment) owned.set(tpKey(tp.topic, tp.partition), generation);
      // A partition paused in an earlier assignment must not come back paused (the client
      // runs this after applying the assignment).
      try {
        consumer?.resume(assignment.map((tp) => ({ topic: tp.topic, partitions: [tp.partition] })));
      } catch (err) {
        log.debug({ err }, 'could not resume newly assigned partitions');
      }
      log.info({ partitions: assignment.map((tp) => `${tp.topic}[${tp.partition}]`) }, 'partitions assigned');
      joined();
      if (starts && starts.length > 0) {
        const byKey = new Map(starts.map((start) => [tpKey(start.topic, start.partition), start.offset]));
        return assignment.map((tp) => {
          const offset = byKey.get(tpKey(tp.topic, tp.partition));
          return offset === undefined ? { ...tp } : { ...tp, offset: Number(offset) };
        });
      }
    } else if (err.code === REVOKE_PARTITIONS) {
      const revoked = new Set(assignment.map((tp) => tpKey(tp.topic, tp.partition)));
      // At once, before any await: the client may go on handing us records of these
      // partitions meanwhile, and those must be read again by the next owner, not worked on.
      for (const key of revoked) {
        owned.delete(key);
        paused.delete(key);
      }
      for (const tp of assignment) dispatcher.revoke(tp.topic, tp.partition);
      await flush(revoked).catch(() => {});
      for (const key of revoked) {
        pending.delete(key);
        outputs.delete(key);
        ready.delete(key);
      }
      log.info({ partitions: assignment.map((tp) => `${tp.topic}[${tp.partition}]`) }, 'partitions revoked');
    }
    return undefined;
  };

  /** Runs the subscriber's restore until it succeeds: records must not arrive before their state. */
  const prepareAssigned = async (assignment: TopicPartition[]) => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await options.onAssigned?.(assignment.map(({ topic, partition }) => ({ topic, partition })));
      } catch (err) {
        if (stopping) return undefined;
        log.warn({ err, attempt }, 'could not prepare newly assigned partitions; trying again');
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5_000)));
      }
    }
  };

  consumer = clients.consumer(
    clients.config(
      // The client's KafkaJS mode would set 30 s; ours come from the settings, and [kafka] may override them.
      {
        'auto.offset.reset': 'earliest',
        'session.timeout.ms': settings.sessionTimeoutMs,
        'heartbeat.interval.ms': settings.heartbeatIntervalMs,
        // librdkafka prefetches up to 64 MiB per consumer by default, and a process has a
        // dozen consumers: 1 MiB is thousands of our records, more than the capacity ahead.
        'queued.max.messages.kbytes': 1024,
      },
      {
        'group.id': options.groupId,
        'client.id': options.clientId,
        // Range keeps partition N of every subscribed topic on one member: deliver joins two topics by key.
        'partition.assignment.strategy': 'range',
        // We commit ourselves, only what the Dispatcher says is done.
        'enable.auto.commit': false,
        'allow.auto.create.topics': false,
        'isolation.level': options.readUncommitted ? 'read_uncommitted' : 'read_committed',
        rebalance_cb: onRebalance as never,
      },
    ),
  );
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics });
  } catch (error) {
    await consumer.disconnect().catch(() => {});
    throw clients.connectionError(error);
  }

  const activeConsumer = consumer;
  await activeConsumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      if (stopping) return; // Not committed: the next owner reads it again.
      if (!owned.has(tpKey(topic, partition))) {
        // Returning would count it as consumed, and a later record's commit would pass it:
        // failing makes the client seek back, so it is read again by whoever owns the partition.
        throw new Error(`${topic}[${partition}] is not ours; offset ${message.offset} ${HANDED_BACK}`);
      }
      const record: BusRecord = {
        topic,
        partition,
        offset: message.offset,
        key: message.key ? message.key.toString('utf8') : null,
        keyBytes: message.key ?? null,
        value: message.value,
        timestamp: Number(message.timestamp),
        headers: recordHeaders(message.headers),
      };
      // Never waits: a full dispatcher pauses fetching instead, so a rebalance is never held up here.
      dispatcher.dispatch(record);
      if (!dispatcher.hasRoom()) pausePartition(topic, partition);
    },
  });
  let joinTimer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    joinTimer = setTimeout(() => resolve(true), JOIN_WAIT_MS);
  });
  if (await Promise.race([firstAssignment.then(() => false), timedOut])) {
    log.warn(
      { groupId: options.groupId },
      `not in the consumer group after ${JOIN_WAIT_MS / 1000} s; consuming once it joins`,
    );
  }
  clearTimeout(joinTimer);
  log.info({ groupId: options.groupId, topics: options.topics }, 'consumer started');

  let stopped: Promise<void> | undefined;
  let hasJoined = false;
  void firstAssignment.then(() => {
    hasJoined = true;
  });
  return {
    joined: () => hasJoined && !stopped,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        await dispatcher.drain(settings.shutdownGraceMs);
        await flush();
        // Leaving the group revokes our partitions (the callback above) and hands them to the others.
        await activeConsumer
          .disconnect()
          .catch((err: unknown) => log.warn({ err }, 'consumer did not disconnect cleanly'));
        await transactional
          ?.disconnect()
          .catch((err: unknown) => log.warn({ err }, 'producer did not disconnect cleanly'));
        clearTimeout(flushTimer);
      })();
      return stopped;
    },
  };
}

/** The client gives header values as Buffers or strings, repeated names as arrays; the last one wins. */
export function recordHeaders(headers: Record<string, unknown> | undefined): RecordHeaders {
  const result: RecordHeaders = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined || value === null) continue;
    result[name] = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
  }
  return result;
}
