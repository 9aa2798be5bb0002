import type { Logger } from 'pino';
import type { Settings } from '../../config/settings.js';
import { type KafkaAdmin, KafkaClients, type KafkaProducer } from '../kafka/client.js';
import { requireTopics } from '../kafka/topics.js';
import type { Bus, Delivery, SubscribeOptions, Subscription } from './bus.js';
import { subscribeKafka } from './kafka-subscription.js';

export interface KafkaBusOptions {
  settings: Settings;
  log: Logger;
  /** How long `stop()` waits for records in flight before handing them back. */
  shutdownGraceMs?: number;
}

/**
 * Producer defaults; the `[kafka]` section may override any of them.
 * - murmur2_random: keys land on the partition Java clients and Flink pick.
 * - idempotence + acks=all: a retried send is neither lost nor duplicated.
 * - a short linger: concurrent sends share a request without slowing a lone one much.
 */
const PRODUCER_DEFAULTS = {
  partitioner: 'murmur2_random',
  'enable.idempotence': true,
  acks: 'all',
  'linger.ms': 5,
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

  const subscriptions = new Set<Subscription>();
  let closing: Promise<void> | undefined;

  return {
    kind: 'kafka',
    async publish(topic: string, key: string, value: Buffer): Promise<Delivery> {
      // Not awaited one after the other by anyone: concurrent sends batch in librdkafka.
      const [metadata] = await producer.send({ topic, messages: [{ key, value }] });
      if (!metadata) throw new Error(`Kafka returned no delivery report for ${topic}`);
      return { topic, partition: metadata.partition, offset: String(metadata.baseOffset ?? metadata.offset ?? '-1') };
    },

    requireTopics(topics: string[]): Promise<void> {
      return requireTopics(admin, topics, settings);
    },

    async subscribe(subscribeOptions: SubscribeOptions): Promise<Subscription> {
      if (closing) throw new Error('the Kafka bus is closed');
      await requireTopics(admin, subscribeOptions.topics, settings);
      const subscription = await subscribeKafka(clients, subscribeOptions, options.shutdownGraceMs ?? 10_000);
      const tracked: Subscription = {
        stop: async () => {
          await subscription.stop();
          subscriptions.delete(tracked);
        },
      };
      subscriptions.add(tracked);
      return tracked;
    },

    close(): Promise<void> {
      closing ??= (async () => {
        await Promise.all([...subscriptions].map((subscription) => subscription.stop()));
        // Delivery reports of sends still in the air arrive before disconnect resolves.
        await producer.disconnect().catch((err: unknown) => log.warn({ err }, 'producer did not disconnect cleanly'));
        await admin.disconnect().catch((err: unknown) => log.warn({ err }, 'admin client did not disconnect cleanly'));
      })();
      return closing;
    },
  };
}
