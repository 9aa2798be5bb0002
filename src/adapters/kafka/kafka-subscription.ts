import type { DeadLetterReason } from '../../domain/headers.js';
import type {
  BusRecord,
  PartitionOffset,
  PartitionRef,
  RecordHeaders,
  SubscribeOptions,
  Subscription,
} from '../bus/bus.js';
import { Dispatcher } from '../bus/dispatcher.js';
import { HANDED_BACK, type KafkaClients, type KafkaConsumer, type KafkaProducer } from './client.js';
import { type CapturedMessage, captureOutputs } from './transaction-context.js';
import { HeldOutputs, type PartitionPosition, TransactionalSender } from './transactions.js';

export interface KafkaSubscriptionSettings {
  /**
   * Exactly-once: a transactional producer of this subscription's own, and a
   * way to make a new one with the same id when it is stuck. The outputs of a
   * record are sent in the transaction that commits its offset.
   */
  transactional?:
    | {
        producer: KafkaProducer;
        renew: () => Promise<KafkaProducer>;
        /** The group's settled committed offsets of these partitions; rejects while some are not settled. */
        committed: (partitions: PartitionRef[]) => Promise<PartitionOffset[]>;
        /** Offsets unsettled for longer than this were stranded by a broker, not held by a live transaction. */
        settleAfterMs: number;
      }
    | undefined;
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

interface RebalanceError {
  code: number;
}

/** What the client passes a rebalance callback besides the partitions. */
interface RebalanceFunctions {
  assignmentLost?: () => boolean;
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
  const pending = new Map<string, PartitionPosition>();
  let generation = 0;
  /** Moves at every rebalance event: work that waited across one must not act on the partitions it knew. */
  let rebalances = 0;
  let flushTimer: NodeJS.Timeout | undefined;
  let committing: Promise<void> = Promise.resolve();
  let stopping = false;
  let consumer: KafkaConsumer | undefined;
  let joined!: () => void;
  const firstAssignment = new Promise<void>((resolve) => {
    joined = resolve;
  });

  /** Exactly-once: sends each flush's outputs and offsets in one transaction. */
  const sender = settings.transactional
    ? new TransactionalSender({
        producer: settings.transactional.producer,
        renew: settings.transactional.renew,
        log,
        stopping: () => stopping,
      })
    : undefined;
  /** Exactly-once: each done record's outputs, until the transaction that commits its offset. */
  const outputs = new HeldOutputs();
  /**
   * Exactly-once: partitions being started over after a failed transaction.
   * Records the client still hands over for them were read past the last
   * commit, and come again from it once the seek is made.
   */
  const restarting = new Set<string>();

  /**
   * After a failed transaction: everything since the last commit is worked on
   * again, as if the partitions had just been assigned to us (state restored
   * from the committed offsets, reading resumed from them). Never throws: it
   * retries until it is done, or until a rebalance makes it moot (a new
   * assignment starts from the committed offsets by itself).
   */
  const startOver = async () => {
    if (!consumer || stopping) return;
    const activeConsumer = consumer;
    const since = rebalances;
    const partitions: PartitionRef[] = [...owned.keys()].map((key) => {
      const [topic = '', partition = '0'] = key.split('\u0000');
      return { topic, partition: Number(partition) };
    });
    // At once, before any await: from here on nothing read past the last commit is worked on.
    for (const { topic, partition } of partitions) {
      restarting.add(tpKey(topic, partition));
      dispatcher.revoke(topic, partition);
    }
    outputs.clear();
    pending.clear();
    for (let attempt = 1; partitions.length > 0; attempt += 1) {
      try {
        const committed = await settledPositions(partitions, since);
        if (!committed) return;
        const starts = await options.onAssigned?.(partitions);
        if (stopping || rebalances !== since) return;
        const from = new Map(committed.map((position) => [tpKey(position.topic, position.partition), position.offset]));
        for (const start of starts ?? []) from.set(tpKey(start.topic, start.partition), start.offset);
        // In one step with lifting the guard: the client hands over no record between a seek
        // and its taking effect, so what arrives next was read from these offsets.
        for (const { topic, partition } of partitions) {
          const key = tpKey(topic, partition);
          // No commit yet: from the start, as auto.offset.reset = earliest would.
          activeConsumer.seek({ topic, partition, offset: from.get(key) ?? '-2' });
          restarting.delete(key);
        }
        resumeAll();
        log.info(
          { partitions: partitions.map((tp) => `${tp.topic}[${tp.partition}]`) },
          'reading again from the last commit',
        );
        return;
      } catch (err) {
        log.warn({ err, attempt }, 'could not start over from the last commit yet; trying again');
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5_000)));
      }
    }
  };

  /**
   * Exactly-once: the group's settled committed offsets of these partitions,
   * once there are (undefined when a rebalance or a stop made them moot).
   * Offsets a broker left pending for longer than any live transaction could
   * are settled by ending what this producer id may have left open.
   */
  const settledPositions = async (partitions: PartitionRef[], since: number) => {
    const transactional = settings.transactional;
    if (!transactional || !sender || !consumer) return undefined;
    let waitingSince = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      if (stopping || rebalances !== since) return undefined;
      try {
        return await transactional.committed(partitions);
      } catch (err) {
        if (Date.now() - waitingSince < transactional.settleAfterMs) {
          log.debug({ err, attempt }, 'committed offsets not settled yet; waiting');
        } else {
          log.warn(
            { err, partitions: partitions.map((tp) => `${tp.topic}[${tp.partition}]`) },
            'committed offsets stay unsettled: ending the transaction a broker left open under this producer',
          );
          await sender
            .settle(
              consumer,
              partitions.map((tp) => ({ ...tp, offset: '0' })),
            )
            .catch((settleErr: unknown) => log.warn({ err: settleErr }, 'could not settle the offsets yet'));
          waitingSince = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 2_000)));
      }
    }
  };

  /** Exactly-once: one transaction with the ready outputs of the batch's partitions and their offsets. */
  const commitTransaction = async (activeSender: TransactionalSender, batch: Array<[string, PartitionPosition]>) => {
    if (!consumer) return;
    // Taken now: outputs released while this transaction is under way belong to the next one.
    const messages = outputs.take(batch.map(([key]) => key));
    try {
      await activeSender.send(
        consumer,
        messages,
        batch.map(([, position]) => position),
      );
      clients.watch.reachable();
    } catch (err) {
      // The transaction is gone, and with it the outputs: the records must be worked on again.
      (clients.watch.state().up ? log.error.bind(log) : log.warn.bind(log))(
        { err },
        'a transaction failed; working on its records again from the last commit',
      );
      await startOver();
    }
  };

  /** Sends the gathered offsets, one commit request at a time so they can never land out of order. */
  const flush = (only?: Set<string>): Promise<void> => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    const run = async () => {
      const batch = [...pending].filter(([key]) => !only || only.has(key));
      if (batch.length === 0 || !consumer) return;
      for (const [key] of batch) pending.delete(key);
      if (sender) return commitTransaction(sender, batch);
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
    };
    // The chain must survive any failure: a rejected link would skip every commit after it.
    committing = committing.then(run).catch((err: unknown) => log.error({ err }, 'unexpected commit failure'));
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
    // what a successful attempt published (a failed attempt's outputs are dropped, and so
    // are those of work taken back meanwhile: its record is read again).
    handle: sender
      ? async (record, signal) => {
          const messages: CapturedMessage[] = [];
          await captureOutputs(messages, () => options.handle(record, signal));
          if (!signal.aborted) outputs.keep(tpKey(record.topic, record.partition), record.offset, messages);
        }
      : options.handle,
    retry: options.retry,
    observer: options.observer,
    deadLetter: sender
      ? async (record, reason, error) => {
          const messages: CapturedMessage[] = [];
          await captureOutputs(messages, () => settings.deadLetter(record, reason, error));
          outputs.keep(tpKey(record.topic, record.partition), record.offset, messages);
        }
      : settings.deadLetter,
    onRoom: resumeAll,
    log,
    commit: (topic, partition, nextOffset) => {
      const key = tpKey(topic, partition);
      if (!owned.has(key)) return;
      if (sender) outputs.release(key, nextOffset);
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
    functions?: RebalanceFunctions,
  ): Promise<Array<TopicPartition & { offset?: number }> | undefined> => {
    rebalances += 1;
    if (err.code === ASSIGN_PARTITIONS) {
      // Before the client applies the assignment, so no record of these partitions arrives
      // until their state is restored; heartbeats go on meanwhile.
      // Exactly-once: the client would wait, silently and for good, on offsets a broker stranded.
      if (sender) await settledPositions(assignment, rebalances);
      const starts = options.onAssigned ? await prepareAssigned(assignment) : undefined;
      generation += 1;
      for (const tp of assignment) {
        owned.set(tpKey(tp.topic, tp.partition), generation);
        // The client starts a new assignment from the committed offsets itself.
        restarting.delete(tpKey(tp.topic, tp.partition));
      }
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
        restarting.delete(key);
      }
      for (const tp of assignment) dispatcher.revoke(tp.topic, tp.partition);
      // Exactly-once: a lost assignment (our session expired, say while the broker was away) has
      // no generation left to commit in: the coordinator would refuse the offsets ("Unknown
      // member"), and waiting for that would hold the rejoin. The records are read again.
      const lost = functions?.assignmentLost?.() ?? false;
      if (!(sender && lost)) await flush(revoked);
      for (const key of revoked) {
        pending.delete(key);
        outputs.forget(key);
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
      // Read past the last commit before a failed transaction: it comes again after the seek back.
      if (restarting.has(tpKey(topic, partition))) return;
      if (!owned.has(tpKey(topic, partition))) {
        // Exactly-once: a partition always starts from its committed offset when it comes back
        // (assignment or start-over), so it is simply not worked on. A seek back would be kept by
        // the client once the partition is gone and applied to its next assignment instead of
        // the committed offset, with the record's leader epoch of before a broker restart.
        if (sender) return;
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
        await sender?.close().catch((err: unknown) => log.warn({ err }, 'producer did not disconnect cleanly'));
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
