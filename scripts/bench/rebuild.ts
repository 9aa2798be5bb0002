/**
 * What "state is a cache of Kafka" costs: the full history of N orders
 * (ordered, assembled, baked, delivered) written straight to the topics, then
 *   - the orders view rebuilt from nothing: a status role with an empty data
 *     dir, from start until every order is delivered in its view;
 *   - deliver's replay: restoring its memory of every partition from what its
 *     group acknowledged, as a newly assigned instance does.
 * Runs in this process, on a broker the caller started.
 */
import { join } from 'node:path';
import pino from 'pino';
import { KafkaClients } from '../../src/adapters/kafka/client.js';
import { createKafkaBus } from '../../src/adapters/kafka/kafka-bus.js';
import { DeliveryStore } from '../../src/adapters/sqlite/delivery-store.js';
import { OrdersStore } from '../../src/adapters/sqlite/orders-store.js';
import { loadSettings } from '../../src/config/settings.js';
import { systemClock } from '../../src/domain/clock.js';
import { encodeEvent, orderedEvent } from '../../src/domain/events.js';
import { newCustomerId, newOrderId } from '../../src/domain/order.js';
import { restoreDeliveryState } from '../../src/roles/deliver.js';
import { startShop } from '../../src/roles/shop.js';
import { silentLogs } from '../../test/support/shop.js';
import { PIZZA } from './load.js';
import { sleep } from './util.js';

export interface RebuildOptions {
  bootstrapServers: string;
  orders: number;
  partitions: number;
  /** A fresh directory for the view's and deliver's files. */
  workDir: string;
}

export interface RebuildResult {
  orders: number;
  partitions: number;
  /** From starting an empty status role until every order is delivered in its view. */
  viewSeconds: number;
  viewSecondsPer10k: number;
  /** The four stage records of every order over viewSeconds, as the issue counts them. */
  recordsPerSecond: number;
  /** From the first order in the view to the last delivered: the rate once the consumer has joined and fetched. */
  startSeconds: number;
  steadyRecordsPerSecond: number;
  /** Deliver restoring its memory of every partition from its inputs. */
  replaySeconds: number;
  replayMicrosecondsPerOrder: number;
  /** How many orders deliver's replay remembered. */
  remembered: number;
}

const DELIVERED = 999;
const quiet = pino({ level: 'silent' });

export async function measureRebuild(options: RebuildOptions): Promise<RebuildResult> {
  const { orders, partitions, workDir } = options;
  const settings = loadSettings({ dataDir: join(workDir, 'view'), logDir: join(workDir, 'logs'), timeScale: '0' });
  const kafkaSettings = {
    ...settings,
    kafka: { 'bootstrap.servers': options.bootstrapServers },
    topicConfig: { numPartitions: partitions, replicationFactor: 1, replicationFactorIsDefault: false },
    shop: { ...settings.shop, statusSource: 'topics' as const },
  };
  const clients = new KafkaClients(kafkaSettings.kafka, quiet);
  const admin = clients.admin();
  await admin.connect();
  await admin.createTopics({
    topics: Object.values(kafkaSettings.topics).map((topic) => ({
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
    })),
  });
  await admin.disconnect();

  const producer = clients.producer(clients.config({ partitioner: 'murmur2_random', 'linger.ms': 20 }));
  await producer.connect();
  const now = Date.now();
  for (let start = 0; start < orders; start += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, orders - start) }, () => {
      const orderId = newOrderId();
      return { orderId, order: { orderId, customerId: newCustomerId(), username: 'bench', ...PIZZA } };
    });
    const send = (topic: string, value: (entry: (typeof batch)[number]) => Buffer) =>
      producer.send({ topic, messages: batch.map((entry) => ({ key: entry.orderId, value: value(entry) })) });
    await send(kafkaSettings.topics.ordered, (entry) => encodeEvent(orderedEvent(entry.order, 100, now)));
    await send(kafkaSettings.topics.assembled, () => encodeEvent({ status: 200, baking_time: 10, timestamp: now + 1 }));
    await send(kafkaSettings.topics.baked, () => encodeEvent({ status: 300, timestamp: now + 2 }));
    await send(kafkaSettings.topics.delivered, () => encodeEvent({ status: DELIVERED, timestamp: now + 3 }));
  }
  await producer.disconnect();

  // The orders view, rebuilt from nothing.
  const started = Date.now();
  const view = await startShop({ settings: kafkaSettings, roles: ['status'], logs: silentLogs() });
  const store = OrdersStore.open(join(kafkaSettings.shop.dataDir, kafkaSettings.orders.fileName));
  let firstApplied: number | undefined;
  for (;;) {
    const counts = store.countByStatus();
    if (firstApplied === undefined && counts.length > 0) firstApplied = Date.now();
    if ((counts.find((row) => row.status === DELIVERED)?.count ?? 0) >= orders) break;
    await sleep(50);
  }
  const viewMs = Date.now() - started;
  const startMs = (firstApplied ?? started) - started;
  store.close();
  await view.stop();

  // Deliver's replay of every partition, as if its group had acknowledged everything.
  const bus = await createKafkaBus({ settings: kafkaSettings, log: quiet });
  const deliverAdmin = clients.admin();
  await deliverAdmin.connect();
  const inputs = [kafkaSettings.topics.ordered, kafkaSettings.topics.baked];
  const partitionRefs = inputs.flatMap((topic) =>
    Array.from({ length: partitions }, (_, partition) => ({ topic, partition })),
  );
  // As if the group had acknowledged everything: its committed offsets are the ends.
  const acknowledged = (
    await Promise.all(
      inputs.map(async (topic) =>
        (await deliverAdmin.fetchTopicOffsets(topic)).map((p) => ({ topic, partition: p.partition, offset: p.high })),
      ),
    )
  ).flat();
  await deliverAdmin.disconnect();
  const deliveryStore = DeliveryStore.open(join(workDir, 'deliver', 'delivery.db'));
  const replaying = { ...bus, committedOffsets: async () => acknowledged };
  const replayStarted = Date.now();
  const remembered = await restoreDeliveryState(partitionRefs, {
    bus: replaying,
    settings: kafkaSettings,
    clock: systemClock,
    log: quiet,
    store: deliveryStore,
  });
  const replayMs = Date.now() - replayStarted;
  deliveryStore.close();
  await bus.close();

  return {
    orders,
    partitions,
    viewSeconds: viewMs / 1000,
    viewSecondsPer10k: ((viewMs / orders) * 10_000) / 1000,
    recordsPerSecond: (orders * 4) / (viewMs / 1000),
    startSeconds: startMs / 1000,
    steadyRecordsPerSecond: (orders * 4) / (Math.max(1, viewMs - startMs) / 1000),
    replaySeconds: replayMs / 1000,
    replayMicrosecondsPerOrder: (replayMs * 1000) / orders,
    remembered,
  };
}
