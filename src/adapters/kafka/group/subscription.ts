import type { Clock } from '../../../domain/clock.js';
import type { DeadLetterReason } from '../../../domain/headers.js';
import type {
  BusRecord,
  CommittedOffset,
  PartitionOffset,
  PartitionRef,
  SubscribeOptions,
  Subscription,
} from '../../bus/bus.js';
import { Dispatcher } from '../../bus/dispatcher.js';
import type { KafkaClients, KafkaProducer } from '../client.js';
import { PACED_FETCH_SETTINGS } from '../fetch-pacer.js';
import { HeldOutputs } from '../held-outputs.js';
import { behindGate, type CapturedMessage, captureOutputs } from '../transaction-context.js';
import { TransactionalSender } from '../transactions.js';
import { CommitBatcher } from './commit-batcher.js';
import { ConsumeLoop, type FetchPacer, PausedPartitions } from './consume-loop.js';
import { confirmByCommit, OwnershipGuard } from './ownership-guard.js';
import { partitionKey, partitionNames, partitionOf } from './partitions.js';
import { RebalanceHandler } from './rebalance.js';
import { ExactlyOnceRestart } from './restart.js';

export { recordHeaders } from './consume-loop.js';

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
        committed: (partitions: PartitionRef[]) => Promise<CommittedOffset[]>;
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
  clock: Clock;
  /** Holds the next pull a few ms when records arrive fast; without one, the loop never holds. */
  pacer?: FetchPacer | undefined;
}

/** How long subscribe waits to join the group; a member that joined has a defined share of the work. */
const JOIN_WAIT_MS = 30_000;
/** Done offsets are gathered for this long and committed together, not one request per record. */
const COMMIT_INTERVAL_MS = 100;
/**
 * Exactly-once, outputs wait in their transaction until it commits, so each stage's
 * gathering adds to every order: 100 ms over three stages was about 300 ms an order
 * (issue 20 asks at most 250). A commit still waits for the one before it, so under load
 * a transaction gathers whatever arrived while the last one committed.
 */
const TRANSACTION_INTERVAL_MS = 25;
/** Most records per `eachBatch` call (the client's default is 32). */
const MAX_BATCH_SIZE = 500;
/**
 * At-least-once, how long a revoke waits for the partitions' sends already on their way:
 * they are committed, not redone by the next owner. A delivery report takes milliseconds.
 */
const REVOKE_SETTLE_MS = 1_000;

/**
 * One consumer group member, wired from its parts: the consume loop hands each
 * batch to the Dispatcher, which runs up to `capacity` records at once and
 * says which offsets are safe to commit; the commit batcher commits them (in
 * exactly-once mode, in a transaction with the records' outputs); the
 * rebalance handler keeps which partitions are ours; the exactly-once restart
 * reads again from the last commit after a failed transaction.
 */
export async function subscribeKafka(
  clients: KafkaClients,
  options: SubscribeOptions,
  settings: KafkaSubscriptionSettings,
): Promise<Subscription> {
  const { log } = options;
  const { clock, transactional } = settings;
  let stopping = false;
  const isStopping = () => stopping;
  let joined!: () => void;
  const firstAssignment = new Promise<void>((resolve) => {
    joined = resolve;
  });

  /** Exactly-once: sends each flush's outputs and offsets in one transaction. */
  const sender = transactional
    ? new TransactionalSender({
        producer: transactional.producer,
        renew: transactional.renew,
        log,
        clock,
        stopping: isStopping,
      })
    : undefined;
  /** Exactly-once: each done record's outputs, until a transaction carries them. */
  const outputs = new HeldOutputs();
  /** At-least-once: the furthest offset handed to a commit, per owned partition; a gap's check commits it again. */
  const committing = new Map<string, PartitionOffset>();
  /** At-least-once: partitions being revoked, no longer ours to work on but still to commit. */
  const revoking = new Set<string>();
  /**
   * At-least-once: no transaction fences a member that hung, so its outputs pass
   * this gate. The coordinator may expire a session as soon as `session - heartbeat`
   * after the last heartbeat it received, so a gap that long is enough to doubt.
   */
  const guard = sender
    ? undefined
    : new OwnershipGuard({
        clock,
        log,
        maxGapMs: Math.max(settings.sessionTimeoutMs - settings.heartbeatIntervalMs, settings.sessionTimeoutMs / 2),
        tickMs: Math.min(settings.heartbeatIntervalMs, 1_000),
        unaskableHoldMs: settings.sessionTimeoutMs,
        confirm: confirmByCommit({
          consumer: () => consumerRef.current,
          owned: () => rebalance.ownedPartitions(),
          rebalances: () => rebalance.rebalances,
          committing,
          stopping: isStopping,
        }),
      });
  /** Exactly-once: a done record's outputs may go out before the prefix reaches it: a transaction is due. */
  const held = (record: BusRecord, messages: CapturedMessage[]) => {
    const key = partitionKey(record.topic, record.partition);
    const position = outputs.keep(key, record.offset, messages);
    if (position && rebalance.owns(key)) commits.add(position);
  };

  // The consumer comes last (its config names the rebalance callback): the parts reach it through this.
  const consumerRef: { current?: ReturnType<KafkaClients['consumer']> } = {};
  const fetching = new PausedPartitions(
    {
      pause: (topics) => consumerRef.current?.pause(topics),
      resume: (topics) => consumerRef.current?.resume(topics),
    },
    log,
    isStopping,
  );

  const commits: CommitBatcher = new CommitBatcher({
    clock,
    intervalMs: sender ? TRANSACTION_INTERVAL_MS : COMMIT_INTERVAL_MS,
    log,
    owns: (key) => rebalance.owns(key),
    stopping: isStopping,
    send: async (positions) => {
      const consumer = consumerRef.current;
      if (!consumer) return;
      if (sender) return commitTransaction(sender, positions);
      for (const tp of positions) committing.set(partitionKey(tp.topic, tp.partition), tp);
      await consumer.commitOffsets(positions);
      clients.watch.reachable();
    },
    failed: (err, positions) =>
      // During an outage the watch reports it; each failed commit is detail.
      (clients.watch.state().up ? log.warn.bind(log) : log.debug.bind(log))(
        { err, offsets: positions },
        'commit failed; the records will be redelivered if not committed later',
      ),
  });

  /** Exactly-once: one transaction with the ready outputs of the positions' partitions and their offsets. */
  const commitTransaction = async (activeSender: TransactionalSender, positions: PartitionOffset[]) => {
    const consumer = consumerRef.current;
    if (!consumer) return;
    // Taken now: outputs kept while this transaction is under way belong to the next one.
    const content = outputs.take(positions);
    // In the assignment the records were read in: their outputs and offsets are for it alone.
    const stillOurs = rebalance.fence(content.positions.map((tp) => partitionKey(tp.topic, tp.partition)));
    try {
      const result = await activeSender.send(consumer, content.messages, content.positions, stillOurs);
      clients.watch.reachable();
      if (result === 'taken back') {
        // Range assignment is eager: every partition of the transaction was taken back with
        // the others, and whoever is assigned them next reads them from the last commit.
        log.info(
          { partitions: partitionNames(content.positions) },
          'partitions taken back while their transaction was under way: aborted it',
        );
      }
    } catch (err) {
      // The transaction is gone, and with it the outputs: the records must be worked on again.
      (clients.watch.state().up ? log.error.bind(log) : log.warn.bind(log))(
        { err },
        'a transaction failed; working on its records again from the last commit',
      );
      await restart?.startOver();
    }
  };

  const dispatcher = new Dispatcher({
    capacity: options.capacity,
    clock,
    // Exactly-once: what the handler publishes is kept for the transaction, and only
    // what a successful attempt published (a failed attempt's outputs are dropped, and so
    // are those of work taken back meanwhile: its record is read again).
    handle: sender
      ? async (record, signal) => {
          // Done before, its outputs committed past the last committed offset: not worked on again.
          if (outputs.isDone(partitionKey(record.topic, record.partition), record.offset)) return;
          const messages: CapturedMessage[] = [];
          await captureOutputs(messages, () => options.handle(record, signal));
          if (!signal.aborted) held(record, messages);
        }
      : guard
        ? // At-least-once: what the handler publishes goes only while the record's partition is ours.
          (record, signal) => behindGate(guard.gate(signal), () => options.handle(record, signal))
        : options.handle,
    retry: options.retry,
    observer: options.observer,
    deadLetter: sender
      ? async (record, reason, error) => {
          const messages: CapturedMessage[] = [];
          await captureOutputs(messages, () => settings.deadLetter(record, reason, error));
          held(record, messages);
        }
      : guard
        ? (record, reason, error, signal) =>
            behindGate(guard.gate(signal), () => settings.deadLetter(record, reason, error))
        : settings.deadLetter,
    onRoom: () => fetching.resumeAll(),
    log,
    commit: (topic, partition, nextOffset) => {
      const key = partitionKey(topic, partition);
      if (!rebalance.owns(key) && !revoking.has(key)) return;
      if (sender) outputs.release(key, nextOffset);
      const position = { topic, partition, offset: nextOffset };
      options.onCommit?.(position);
      commits.add(position);
    },
  });

  const restart =
    transactional && sender
      ? new ExactlyOnceRestart({
          clock,
          log,
          // Read when used: the rebalance handler is made next, with the restart among its parts.
          ownership: {
            ownedPartitions: () => rebalance.ownedPartitions(),
            get rebalances() {
              return rebalance.rebalances;
            },
          },
          committed: transactional.committed,
          restored: (partitions, committed) => {
            const byKey = new Map(
              committed.map((position) => [partitionKey(position.topic, position.partition), position]),
            );
            for (const { topic, partition } of partitions) {
              const key = partitionKey(topic, partition);
              outputs.restore(key, byKey.get(key));
            }
            const skipped = committed.filter((position) => position.done && position.done.length > 0);
            if (skipped.length > 0) {
              log.info(
                { records: Object.fromEntries(skipped.map((p) => [`${p.topic}[${p.partition}]`, p.done?.length])) },
                'records done past the last committed offset: skipping them',
              );
            }
          },
          settleAfterMs: transactional.settleAfterMs,
          settle: async (partitions) => {
            const consumer = consumerRef.current;
            if (consumer)
              await sender.settle(
                consumer,
                partitions.map((tp) => ({ ...tp, offset: '0' })),
              );
          },
          prepare: options.onAssigned,
          discard: (partitions) => {
            for (const { topic, partition } of partitions) dispatcher.revoke(topic, partition);
            outputs.clear();
            commits.clear();
          },
          seek: (position) => consumerRef.current?.seek(position),
          resume: () => fetching.resumeAll(),
          stopping: isStopping,
        })
      : undefined;

  const rebalance: RebalanceHandler = new RebalanceHandler({
    clock,
    log,
    exactlyOnce: sender !== undefined,
    settle: restart ? (partitions, since) => restart.settledPositions(partitions, since) : undefined,
    prepare: options.onAssigned,
    stopping: isStopping,
    joined: () => joined(),
    assigned: (partitions) => {
      guard?.assigned();
      for (const tp of partitions) restart?.forget(partitionKey(tp.topic, tp.partition));
      // The client runs this after applying the assignment.
      fetching.resumeAssigned(partitions);
    },
    revoked: (partitions) => {
      for (const { topic, partition } of partitions) {
        const key = partitionKey(topic, partition);
        fetching.forget(key);
        restart?.forget(key);
        if (!sender) revoking.add(key);
        dispatcher.revoke(topic, partition, { settle: !sender });
      }
    },
    flush: async (keys) => {
      if (!sender) {
        await Promise.all(
          [...keys].map((key) => {
            const { topic, partition } = partitionOf(key);
            return dispatcher.settleRevoked(topic, partition, REVOKE_SETTLE_MS);
          }),
        );
      }
      await commits.flush(keys);
    },
    forget: (keys) => {
      commits.drop(keys);
      for (const key of keys) {
        outputs.forget(key);
        committing.delete(key);
        revoking.delete(key);
      }
    },
  });

  const loop = new ConsumeLoop({
    sink: sender
      ? {
          // Exactly-once: where each partition's prefix starts, when no commit said.
          dispatchBatch: (records) => {
            const first = records[0];
            if (first) outputs.dispatched(partitionKey(first.topic, first.partition), first.offset);
            return dispatcher.dispatchBatch(records);
          },
          hasRoom: () => dispatcher.hasRoom(),
        }
      : dispatcher,
    fetching,
    owns: (key) => rebalance.owns(key),
    restarting: (key) => restart?.isRestarting(key) ?? false,
    stopping: isStopping,
    exactlyOnce: sender !== undefined,
    clock,
    pacer: settings.pacer,
  });

  const consumer = clients.consumer(
    clients.config(
      // The client's KafkaJS mode would set 30 s; ours come from the settings, and [kafka] may override them.
      {
        'auto.offset.reset': 'earliest',
        'session.timeout.ms': settings.sessionTimeoutMs,
        'heartbeat.interval.ms': settings.heartbeatIntervalMs,
        // librdkafka prefetches up to 64 MiB per consumer by default, and a process has a
        // dozen consumers: 1 MiB is thousands of our records, more than the capacity ahead.
        'queued.max.messages.kbytes': 1024,
        'js.consumer.max.batch.size': MAX_BATCH_SIZE,
        // With a pacer, the pacer's holds decide how many records each fetch brings.
        ...(settings.pacer ? PACED_FETCH_SETTINGS : {}),
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
        rebalance_cb: rebalance.onRebalance as never,
      },
    ),
  );
  consumerRef.current = consumer;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics });
  } catch (error) {
    await consumer.disconnect().catch(() => {});
    throw clients.connectionError(error);
  }

  await consumer.run({ eachBatch: loop.eachBatch as never, eachBatchAutoResolve: false });
  guard?.start();
  const joinWait = new AbortController();
  const timedOut = clock.sleep(JOIN_WAIT_MS, joinWait.signal).then(
    () => true,
    () => false,
  );
  if (await Promise.race([firstAssignment.then(() => false), timedOut])) {
    log.warn(
      { groupId: options.groupId },
      `not in the consumer group after ${JOIN_WAIT_MS / 1000} s; consuming once it joins`,
    );
  }
  joinWait.abort();
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
        guard?.stop();
        await dispatcher.drain(settings.shutdownGraceMs);
        await commits.flush();
        // Leaving the group revokes our partitions (the callback above) and hands them to the others.
        await consumer.disconnect().catch((err: unknown) => log.warn({ err }, 'consumer did not disconnect cleanly'));
        await sender?.close().catch((err: unknown) => log.warn({ err }, 'producer did not disconnect cleanly'));
        commits.close();
      })();
      return stopped;
    },
  };
}
