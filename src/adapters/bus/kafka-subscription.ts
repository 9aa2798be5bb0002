import type { KafkaClients, KafkaConsumer } from '../kafka/client.js';
import type { BusRecord, SubscribeOptions, Subscription } from './bus.js';
import { Dispatcher } from './dispatcher.js';

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
  shutdownGraceMs: number,
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

  /** Sends the gathered offsets, one commit request at a time so they can never land out of order. */
  const flush = (only?: Set<string>): Promise<void> => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    committing = committing.then(async () => {
      const batch = [...pending].filter(([key]) => !only || only.has(key));
      if (batch.length === 0 || !consumer) return;
      for (const [key] of batch) pending.delete(key);
      try {
        await consumer.commitOffsets(batch.map(([, offset]) => offset));
      } catch (err) {
        log.warn(
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

  const dispatcher = new Dispatcher({
    capacity: options.capacity,
    handle: options.handle,
    log,
    commit: (topic, partition, nextOffset) => {
      const key = tpKey(topic, partition);
      if (!owned.has(key)) return;
      pending.set(key, { topic, partition, offset: nextOffset });
      scheduleFlush();
    },
  });

  /**
   * Called by librdkafka before partitions move. On revoke, what is done is
   * committed while we still own it; work in flight is handed back (its
   * records come again to the next owner). Assignment is left to the client.
   */
  const onRebalance = async (err: RebalanceError, assignment: TopicPartition[]): Promise<void> => {
    if (err.code === ASSIGN_PARTITIONS) {
      generation += 1;
      for (const tp of assignment) owned.set(tpKey(tp.topic, tp.partition), generation);
      log.info({ partitions: assignment.map((tp) => `${tp.topic}[${tp.partition}]`) }, 'partitions assigned');
      joined();
    } else if (err.code === REVOKE_PARTITIONS) {
      const revoked = new Set(assignment.map((tp) => tpKey(tp.topic, tp.partition)));
      // At once, before any await: the client may go on handing us records of these
      // partitions meanwhile, and those must be read again by the next owner, not worked on.
      for (const key of revoked) owned.delete(key);
      for (const tp of assignment) dispatcher.revoke(tp.topic, tp.partition);
      await flush(revoked).catch(() => {});
      for (const key of revoked) pending.delete(key);
      log.info({ partitions: assignment.map((tp) => `${tp.topic}[${tp.partition}]`) }, 'partitions revoked');
    }
  };

  consumer = clients.consumer(
    clients.config(
      { 'auto.offset.reset': 'earliest' },
      {
        'group.id': options.groupId,
        'client.id': options.clientId,
        // Range keeps partition N of every subscribed topic on one member: deliver joins two topics by key.
        'partition.assignment.strategy': 'range',
        // We commit ourselves, only what the Dispatcher says is done.
        'enable.auto.commit': false,
        'allow.auto.create.topics': false,
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
      const key = tpKey(topic, partition);
      const receivedIn = owned.get(key);
      const record: BusRecord = {
        topic,
        partition,
        offset: message.offset,
        key: message.key ? message.key.toString('utf8') : null,
        keyBytes: message.key ?? null,
        value: message.value,
        timestamp: Number(message.timestamp),
      };
      // A record taken while the partition was ours must not start after it moved, even if it came back.
      const taken = await dispatcher.dispatch(
        record,
        () => !stopping && receivedIn !== undefined && owned.get(key) === receivedIn,
      );
      if (!taken && !stopping) {
        // Returning would count it as consumed, and a later record's commit would pass it:
        // failing makes the client seek back, so it is read again by whoever owns the partition.
        throw new Error(`${topic}[${partition}] moved while offset ${message.offset} waited; it will be read again`);
      }
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
  return {
    stop() {
      stopped ??= (async () => {
        stopping = true;
        await dispatcher.drain(shutdownGraceMs);
        await flush();
        // Leaving the group revokes our partitions (the callback above) and hands them to the others.
        await activeConsumer
          .disconnect()
          .catch((err: unknown) => log.warn({ err }, 'consumer did not disconnect cleanly'));
        clearTimeout(flushTimer);
      })();
      return stopped;
    },
  };
}
