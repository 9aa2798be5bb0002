import type { Logger } from 'pino';
import type { Settings } from '../../config/settings.js';
import { type Clock, systemClock } from '../../domain/clock.js';
import type {
  Bus,
  BusRecord,
  CommittedOffset,
  Delivery,
  HostReadOptions,
  OutgoingHeaders,
  PartitionRange,
  PartitionRef,
  SubscribeOptions,
  Subscription,
} from '../bus/bus.js';
import { deadLetterFor } from '../bus/dead-letter.js';
import { type KafkaAdmin, KafkaClients, type KafkaProducer } from './client.js';
import { decodeCompleted } from './completed-offsets.js';
import { FetchPacer } from './fetch-pacer.js';
import type { FetchPacer as Pacer } from './group/consume-loop.js';
import { subscribeKafka } from './group/subscription.js';
import { KafkaHostReader } from './host-reader.js';
import { readRanges, readWholeTopic } from './read.js';
import { requireTopics } from './topics.js';
import { captureIfTransactional, currentGate } from './transaction-context.js';
import { type NativeProducer, produceEach, TurnProducer } from './turn-producer.js';

export interface KafkaBusOptions {
  settings: Settings;
  log: Logger;
  /** How long `stop()` waits for records in flight before handing them back. */
  shutdownGraceMs?: number;
  /** Back-off waits, commit intervals and grace periods; the system clock when not given. */
  clock?: Clock;
  /**
   * Makes each subscription's consume loop's pacer (`src/adapters/kafka/fetch-pacer.ts`):
   * it holds the next pull a few ms when records arrive fast. None: the loop never holds.
   */
  pacer?: () => Pacer;
}

/**
 * Producer defaults; the `[kafka]` section may override any of them.
 * - murmur2_random: keys land on the partition Java clients and Flink pick.
 * - idempotence + acks=all: a retried send is neither lost nor duplicated.
 * - a 1 ms linger: a send awaited alone took 7.7 ms at 5 ms and 2.4 ms at 1 ms (p50,
 *   local broker); under load sends still share requests while others are in flight.
 */
const PRODUCER_DEFAULTS = {
  partitioner: 'murmur2_random',
  'enable.idempotence': true,
  acks: 'all',
  'linger.ms': 1,
} as const;

/**
 * Transactional producers' defaults, also overridable:
 * - transaction.timeout.ms: how long a transaction a crashed instance left open
 *   holds up read-committed readers of its partitions, when no instance with its
 *   id comes back to end it (the client's KafkaJS mode would set 60 s).
 * - socket.timeout.ms: librdkafka requires it to be at most the transaction timeout.
 */
const TRANSACTIONAL_DEFAULTS = {
  'transaction.timeout.ms': 10_000,
  'socket.timeout.ms': 10_000,
} as const;

/**
 * The bus on Apache Kafka, through librdkafka. One idempotent producer for the
 * process; one consumer per subscription, feeding the shared Dispatcher.
 */
export async function createKafkaBus(options: KafkaBusOptions): Promise<Bus> {
  const { settings, log } = options;
  if (!settings.kafka) throw new Error('createKafkaBus needs the [kafka] section of the settings');
  const clients = new KafkaClients(settings.kafka, log);

  const admin: KafkaAdmin = clients.admin();
  await admin.connect();
  try {
    await clients.probe(admin);
  } catch (error) {
    await admin.disconnect().catch(() => {});
    throw error;
  }

  const producer: KafkaProducer = clients.producer(
    clients.config({ ...PRODUCER_DEFAULTS, 'client.id': 'pizza-producer' }),
  );
  try {
    await producer.connect();
  } catch (error) {
    await admin.disconnect().catch(() => {});
    throw clients.connectionError(error);
  }
  log.info({ bootstrapServers: clients.bootstrapServers }, 'connected to Kafka');
  // A turn's publishes go to the client together, each still settled by its own delivery report.
  const native = (producer as unknown as { _getInternalClient(): NativeProducer })._getInternalClient();
  const turns = new TurnProducer({ send: produceEach(native) });
  clients.watch.probe = () => admin.listTopics({ timeout: 3_000 });

  const subscriptions = new Set<Subscription>();
  const starting = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;

  const publish = async (
    topic: string,
    key: string | Buffer,
    value: Buffer | null,
    headers?: OutgoingHeaders,
  ): Promise<Delivery> => {
    // Exactly-once: inside a role's work on a record, the output waits for the record's transaction.
    const captured = captureIfTransactional({ topic, key, value, headers });
    if (captured) return captured;
    // At-least-once: a record's outputs go only while its partition is ours (a hung member's were not).
    const gate = currentGate();
    const held = gate?.pass();
    if (held) await held;
    const delivery = await turns.publish(topic, { key, value, headers }, gate?.signal);
    clients.watch.reachable();
    return delivery;
  };

  /**
   * A group's committed next offsets for these partitions; partitions with none
   * are left out. Settled offsets only: while a transaction that commits some of
   * them is still being completed (after a broker restart, say), the group's
   * consumers wait for it, and so must whoever rebuilds state up to them.
   */
  const settledOffsets = async (groupId: string, partitions: readonly PartitionRef[]): Promise<CommittedOffset[]> => {
    // By partition, not by topic: asked for a whole topic, the group answers for the partitions
    // it has a committed offset of, and says nothing of one whose first commit is still pending,
    // which the group's consumers then wait on, unseen.
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const topics = [...byTopic].map(([topic, numbers]) => ({ topic, partitions: numbers }));
    const committed = await admin.fetchOffsets({ groupId, topics, requireStableOffsets: true } as never);
    const wanted = new Set(partitions.map((tp) => `${tp.topic}\u0000${tp.partition}`));
    const found = committed.flatMap(({ topic, partitions: entries }) =>
      entries
        .filter((entry) => wanted.has(`${topic}\u0000${entry.partition}`))
        .map((entry) => ({ topic, ...(entry as typeof entry & { error?: unknown }) })),
    );
    const unsettled = found.find((entry) => entry.error);
    if (unsettled) {
      throw new Error(`the committed offset of ${unsettled.topic}[${unsettled.partition}] is not settled yet`, {
        cause: unsettled.error,
      });
    }
    return found
      .filter((entry) => BigInt(entry.offset) >= 0n)
      .map((entry) => {
        // Exactly-once: the records a transaction committed past its offset (completed-offsets.ts).
        const done = decodeCompleted(BigInt(entry.offset), (entry as { metadata?: string | null }).metadata);
        return {
          topic: entry.topic,
          partition: entry.partition,
          offset: entry.offset,
          ...(done.length > 0 ? { done: done.map(String) } : {}),
        };
      });
  };

  /** One per subscription: a transactional producer sends one transaction at a time. */
  const transactionalProducer = async (subscribeOptions: SubscribeOptions): Promise<KafkaProducer> => {
    const transactionalId = `${subscribeOptions.groupId}.${subscribeOptions.instanceId ?? subscribeOptions.clientId}`;
    const created = clients.producer(
      clients.config(
        { ...PRODUCER_DEFAULTS, ...TRANSACTIONAL_DEFAULTS, 'client.id': `${subscribeOptions.clientId}-tx` },
        { 'transactional.id': transactionalId },
      ),
    );
    try {
      await created.connect();
    } catch (error) {
      // Left alone, its start would go on in the background and later fence the producer that replaces it.
      await created.disconnect().catch(() => {});
      throw error;
    }
    return created;
  };

  // One consumer per isolation level for every host reader of the process, made when first needed.
  const hostReaders = new Map<boolean, KafkaHostReader>();
  const hostReaderFor = (readUncommitted: boolean): KafkaHostReader => {
    let reader = hostReaders.get(readUncommitted);
    if (!reader) {
      reader = new KafkaHostReader({
        clients,
        admin,
        readUncommitted,
        graceMs: options.shutdownGraceMs ?? 10_000,
        log,
        deadLetter: async (record, role, reason, error) => {
          const letter = deadLetterFor(record, { role, reason, error, now: Date.now() });
          await publish(settings.topics.deadLetter, letter.key, letter.value, letter.headers);
        },
      });
      hostReaders.set(readUncommitted, reader);
    }
    return reader;
  };

  return {
    kind: 'kafka',
    publish,

    async read(readOptions: HostReadOptions) {
      if (closing) throw new Error('the Kafka bus is closed');
      await requireTopics(admin, readOptions.topics, settings);
      return hostReaderFor(readOptions.readUncommitted ?? false).add(readOptions);
    },

    hostReaders: () => [...hostReaders.values()].flatMap((reader) => reader.readers()),

    connectivity: () => clients.watch.state(),

    readTopic(topic: string): Promise<BusRecord[]> {
      return readWholeTopic(clients, admin, topic);
    },

    readRanges(ranges: readonly PartitionRange[]): Promise<BusRecord[]> {
      return readRanges(clients, admin, ranges);
    },

    committedOffsets: settledOffsets,

    requireTopics(topics: string[]): Promise<void> {
      return requireTopics(admin, topics, settings);
    },

    async subscribe(subscribeOptions: SubscribeOptions): Promise<Subscription> {
      if (closing) throw new Error('the Kafka bus is closed');
      const started = (async () => {
        await requireTopics(admin, subscribeOptions.topics, settings);
        const transactional =
          settings.shop.processing === 'exactly-once'
            ? {
                producer: await transactionalProducer(subscribeOptions),
                renew: () => transactionalProducer(subscribeOptions),
                committed: (partitions: PartitionRef[]) => settledOffsets(subscribeOptions.groupId, partitions),
                // A transaction still open after its timeout is aborted by the coordinator within
                // about 10 s more (its check interval): pending offsets older than that are stranded.
                settleAfterMs: Number(clients.config(TRANSACTIONAL_DEFAULTS)['transaction.timeout.ms']) + 15_000,
              }
            : undefined;
        return subscribeKafka(clients, subscribeOptions, {
          transactional,
          shutdownGraceMs: options.shutdownGraceMs ?? 10_000,
          clock: options.clock ?? systemClock,
          pacer: (options.pacer ?? (() => new FetchPacer()))(),
          sessionTimeoutMs: settings.shop.sessionTimeoutMs,
          heartbeatIntervalMs: settings.shop.heartbeatIntervalMs,
          deadLetter: async (record, reason, error) => {
            const letter = deadLetterFor(record, { role: subscribeOptions.role, reason, error, now: Date.now() });
            await publish(settings.topics.deadLetter, letter.key, letter.value, letter.headers);
          },
        });
      })();
      // close() waits for a subscription still joining, and stops it, so none outlives the bus.
      const tracked = started.then((subscription) => {
        const stoppable: Subscription = {
          joined: () => subscription.joined(),
          stop: async () => {
            await subscription.stop();
            subscriptions.delete(stoppable);
          },
        };
        subscriptions.add(stoppable);
        return stoppable;
      });
      starting.add(tracked);
      try {
        const subscription = await tracked;
        if (closing) {
          await subscription.stop();
          throw new Error('the Kafka bus was closed while subscribing');
        }
        return subscription;
      } finally {
        starting.delete(tracked);
      }
    },

    close(): Promise<void> {
      closing ??= (async () => {
        await Promise.allSettled([...starting]);
        await Promise.all([...subscriptions].map((subscription) => subscription.stop()));
        await Promise.all([...hostReaders.values()].map((reader) => reader.close()));
        clients.watch.close();
        // Delivery reports of sends still in the air arrive before disconnect resolves.
        turns.flush();
        await producer.disconnect().catch((err: unknown) => log.warn({ err }, 'producer did not disconnect cleanly'));
        await admin.disconnect().catch((err: unknown) => log.warn({ err }, 'admin client did not disconnect cleanly'));
      })();
      return closing;
    },
  };
}
