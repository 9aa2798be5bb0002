/**
 * `npm run bench:rebuild`: what "state is a cache of Kafka" costs.
 *
 * Starts a real local broker, writes the full history of BENCH_ORDERS orders
 * (ordered, assembled, baked, delivered; 4 partitions) straight to the topics,
 * then measures, in this process:
 *   - the orders view rebuilt from nothing: a status role with an empty data
 *     dir, from start until every order is delivered in its view;
 *   - deliver's replay: restoring its memory of every partition from what its
 *     group acknowledged, as a newly assigned instance does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createKafkaBus } from '../src/adapters/bus/kafka.js';
import { KafkaClients } from '../src/adapters/kafka/client.js';
import { DeliveryStore } from '../src/adapters/sqlite/delivery-store.js';
import { OrdersStore } from '../src/adapters/sqlite/orders-store.js';
import { loadSettings } from '../src/config/settings.js';
import { encodeEvent, orderedEvent } from '../src/domain/events.js';
import { newCustomerId, newOrderId } from '../src/domain/order.js';
import { restoreDeliveryState } from '../src/roles/deliver.js';
import { systemClock } from '../src/roles/role.js';
import { startShop } from '../src/roles/shop.js';
import { silentLogs } from '../test/support/shop.js';
import { startKafkaBroker } from '../tools/kafka/broker.js';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 10_000);
const PARTITIONS = 4;
const quiet = pino({ level: 'silent' });

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-rebuild-'));
  const broker = await startKafkaBroker();
  try {
    const settings = loadSettings({ dataDir: join(dir, 'view'), logDir: join(dir, 'logs'), timeScale: '0' });
    const kafkaSettings = {
      ...settings,
      kafka: { 'bootstrap.servers': broker.bootstrapServers },
      topicConfig: { numPartitions: PARTITIONS, replicationFactor: 1, replicationFactorIsDefault: false },
      shop: { ...settings.shop, statusSource: 'topics' as const },
    };
    const clients = new KafkaClients(kafkaSettings.kafka, quiet);
    const admin = clients.admin();
    await admin.connect();
    await admin.createTopics({
      topics: Object.values(kafkaSettings.topics).map((topic) => ({
        topic,
        numPartitions: PARTITIONS,
        replicationFactor: 1,
      })),
    });
    await admin.disconnect();

    const producer = clients.producer(clients.config({ partitioner: 'murmur2_random', 'linger.ms': 20 }));
    await producer.connect();
    const now = Date.now();
    const orderIds: string[] = [];
    for (let start = 0; start < ORDERS; start += 1_000) {
      const batch = Array.from({ length: Math.min(1_000, ORDERS - start) }, () => {
        const orderId = newOrderId();
        orderIds.push(orderId);
        return {
          orderId,
          order: {
            orderId,
            customerId: newCustomerId(),
            username: 'bench',
            sauce: 'Tomato',
            cheese: 'Mozzarella',
            mainTopping: 'Pepperoni',
            extraToppings: ['Mushroom'],
          },
        };
      });
      const send = (topic: string, value: (entry: (typeof batch)[number]) => Buffer) =>
        producer.send({ topic, messages: batch.map((entry) => ({ key: entry.orderId, value: value(entry) })) });
      await send(kafkaSettings.topics.ordered, (entry) => encodeEvent(orderedEvent(entry.order, 100, now)));
      await send(kafkaSettings.topics.assembled, () =>
        encodeEvent({ status: 200, baking_time: 10, timestamp: now + 1 }),
      );
      await send(kafkaSettings.topics.baked, () => encodeEvent({ status: 300, timestamp: now + 2 }));
      await send(kafkaSettings.topics.delivered, () => encodeEvent({ status: 999, timestamp: now + 3 }));
    }
    await producer.disconnect();

    // The orders view, rebuilt from nothing.
    const started = Date.now();
    const view = await startShop({ settings: kafkaSettings, roles: ['status'], logs: silentLogs() });
    const store = OrdersStore.open(join(kafkaSettings.shop.dataDir, kafkaSettings.orders.fileName));
    for (;;) {
      const delivered = store.countByStatus().find((row) => row.status === 999)?.count ?? 0;
      if (delivered >= ORDERS) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const viewMs = Date.now() - started;
    store.close();
    await view.stop();

    // Deliver's replay of every partition, as if its group had acknowledged everything.
    const bus = await createKafkaBus({ settings: kafkaSettings, log: quiet });
    const deliverAdmin = clients.admin();
    await deliverAdmin.connect();
    const partitions = [kafkaSettings.topics.ordered, kafkaSettings.topics.baked].flatMap((topic) =>
      Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })),
    );
    const ends = await Promise.all(
      [kafkaSettings.topics.ordered, kafkaSettings.topics.baked].map(async (topic) => ({
        topic,
        partitions: (await deliverAdmin.fetchTopicOffsets(topic)).map((p) => ({
          partition: p.partition,
          offset: p.high,
        })),
      })),
    );
    await deliverAdmin.disconnect();
    const deliveryStore = DeliveryStore.open(join(dir, 'deliver', 'delivery.db'));
    // As if the group had acknowledged everything: its committed offsets are the ends.
    const acknowledged = ends.flatMap(({ topic, partitions: offsets }) =>
      offsets.map(({ partition, offset }) => ({ topic, partition, offset })),
    );
    const replaying = { ...bus, committedOffsets: async () => acknowledged };
    const replayStarted = Date.now();
    const memory = await restoreDeliveryState(partitions, {
      bus: replaying,
      settings: kafkaSettings,
      clock: systemClock,
      log: quiet,
      store: deliveryStore,
    });
    const replayMs = Date.now() - replayStarted;
    deliveryStore.close();
    await bus.close();

    const remembered = memory;
    console.log(`orders: ${ORDERS} (4 records each on ${PARTITIONS} partitions); deliver remembered ${remembered}`);
    console.log(
      `orders view rebuilt from the topics: ${(viewMs / 1000).toFixed(1)} s (${(((viewMs / ORDERS) * 10_000) / 1000).toFixed(1)} s per 10,000 orders)`,
    );
    console.log(
      `deliver memory replayed from its inputs: ${(replayMs / 1000).toFixed(2)} s (${((replayMs * 1000) / ORDERS).toFixed(0)} µs per order; no extra record per order)`,
    );
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
