import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { RoleName, Settings } from '../../src/config/settings.js';
import { encodeEvent } from '../../src/domain/events.js';
import { type RunningShop, startShop } from '../../src/roles/shop.js';
import { capturingLogs } from '../support/capture-logs.js';
import { ShopHttpClient } from '../support/http-client.js';
import { createShopTopics, kafkaTestSettings, rawProducer, readTopic, recordCount } from '../support/kafka.js';
import { testRegistryClient, withTestRegistry } from '../support/registry.js';
import { placeOrder, sampleOrder, viewStatus, viewTimeline, waitFor } from '../support/shop.js';

const DELIVERED = 999;
const CANCELLED = 499;
const logs = capturingLogs();

async function shop(settings: Settings, roles: RoleName[]): Promise<RunningShop> {
  const running = await startShop({ settings, roles, logs });
  onTestFinished(() => running.stop());
  return running;
}

/** The first byte of each record on a topic, and the schema ids of the framed ones. */
async function onTheWire(topic: string, count: number) {
  const records = await readTopic(topic, count, 60_000);
  return records.map((record) => ({
    key: record.key,
    framed: record.value[0] === 0 && record.value.length > 5,
    schemaId: record.value.length > 5 ? record.value.readUInt32BE(1) : undefined,
  }));
}

/** Every record on the topic is Schema Registry framed Avro, under a schema the registry gives back for its subject. */
async function expectFramed(topic: string, count: number, schemaName: string): Promise<void> {
  const registry = await testRegistryClient();
  const records = await onTheWire(topic, count);
  expect(records.length, topic).toBeGreaterThanOrEqual(count);
  for (const record of records) {
    expect(record.framed, `${topic} ${record.key}`).toBe(true);
    const schema = await registry.getBySubjectAndId(`${topic}-value`, record.schemaId ?? -1);
    expect(JSON.parse(schema.schema)).toMatchObject({ name: schemaName, namespace: 'pizza.events' });
  }
}

/** A TCP relay in front of the registry, to take it away from one role and bring it back. */
async function registryRelay(
  registryUrl: string,
): Promise<{ url: string; up(): Promise<void>; down(): Promise<void> }> {
  const target = new URL(registryUrl);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const relay = {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    async up() {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => socket.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
    },
    async down() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    },
  };
  onTestFinished(() => relay.down());
  return relay;
}

describe('the shop on Kafka with data contracts on a real Schema Registry', () => {
  it('carries an order through every role in framed Avro, on every workshop and cancel topic', async () => {
    const settings = withTestRegistry(kafkaTestSettings({ flags: { timeScale: '0.001' } }), 'avro');
    await createShopTopics(settings);
    const running = await shop(settings, ['serve', 'assemble', 'bake', 'deliver', 'status']);

    const customer = new ShopHttpClient(running.url ?? '');
    await customer.login('avro-fan');
    const orderId = await customer.order({
      sauce: 'Pesto',
      cheese: 'Gouda',
      mainTopping: 'Chicken',
      extraToppings: ['Onion', 'Egg'],
    });
    await waitFor(() => viewStatus(settings, orderId) === DELIVERED, 'the order delivered in the view', 60_000);
    expect(viewTimeline(settings, orderId)).toEqual([100, 200, 300, DELIVERED]);

    // A pizza baked before its order: pending, then delivered.
    const early = sampleOrder();
    await running.bus.publish(
      settings.topics.baked,
      early.orderId,
      encodeEvent({ status: 300, timestamp: Date.now() }),
    );
    await waitFor(() => viewStatus(settings, early.orderId) === 150, 'pending in the view', 60_000);
    // A cancel that comes before its order: assemble cancels the order when it arrives.
    const cancelled = sampleOrder();
    await running.bus.publish(
      settings.topics.cancelRequested,
      cancelled.orderId,
      encodeEvent({ timestamp: Date.now(), customer_id: cancelled.customerId }),
    );
    await waitFor(
      () => logs.lines.some((line) => line.orderId === cancelled.orderId && line.msg === 'cancel requested'),
      'the cancel heard',
      60_000,
    );
    await placeOrder(running.bus, settings, early);
    await placeOrder(running.bus, settings, cancelled);
    await waitFor(() => viewStatus(settings, early.orderId) === DELIVERED, 'the early pizza delivered', 60_000);
    await waitFor(() => viewStatus(settings, cancelled.orderId) === CANCELLED, 'the cancel in the view', 60_000);

    const { topics } = settings;
    await expectFramed(topics.ordered, 3, 'PizzaOrdered');
    await expectFramed(topics.assembled, 1, 'PizzaAssembled');
    await expectFramed(topics.baked, 2, 'PizzaBaked');
    await expectFramed(topics.delivered, 2, 'PizzaDelivered');
    await expectFramed(topics.pending, 1, 'PizzaPending');
    await expectFramed(topics.cancelRequested, 1, 'PizzaCancelRequested');
    await expectFramed(topics.cancelled, 1, 'PizzaCancelled');
    expect(await recordCount(topics.deadLetter)).toBe(0);
  }, 180_000);

  it('runs a mixed fleet record by record: bake still on JSON between Avro roles, and a workshop JSON order among Avro ones', async () => {
    const avro = withTestRegistry(kafkaTestSettings({ flags: { timeScale: '0.001' } }), 'avro');
    const json: Settings = {
      ...avro,
      shop: { ...avro.shop, contracts: { ...avro.shop.contracts, valueFormat: 'json' } },
    };
    await createShopTopics(avro);
    const avroRoles = await shop(avro, ['assemble', 'deliver', 'status']);
    await shop(json, ['bake']);

    const framedOrder = await placeOrder(avroRoles.bus, avro);
    // Written byte for byte as the workshop's Python web app writes it.
    const producer = await rawProducer();
    const pythonOrder = 'c0ffee43';
    await producer.send({
      topic: avro.topics.ordered,
      messages: [
        {
          key: pythonOrder,
          value:
            `{"status": 100, "timestamp": ${Date.now()}, "order": {"extra_toppings": [], "sauce": "Organic tomato", ` +
            `"cheese": "Ricotta", "main_topping": "Vegan meat", "customer_id": "8f14e45fceea167a5a36dedd4bea2543", "username": "workshop"}}`,
        },
      ],
    });
    for (const orderId of [framedOrder.orderId, pythonOrder]) {
      await waitFor(() => viewStatus(avro, orderId) === DELIVERED, `${orderId} delivered`, 60_000);
      expect(viewTimeline(avro, orderId)).toEqual([100, 200, 300, DELIVERED]);
    }
    const firstBytes = async (topic: string) =>
      Object.fromEntries((await onTheWire(topic, 2)).map((record) => [record.key, record.framed]));
    expect(await firstBytes(avro.topics.ordered)).toEqual({ [framedOrder.orderId]: true, [pythonOrder]: false });
    // Avro roles wrote these, from a framed and a plain input alike.
    expect(await firstBytes(avro.topics.assembled)).toEqual({ [framedOrder.orderId]: true, [pythonOrder]: true });
    // The JSON role read framed records and wrote plain JSON, which the Avro roles read.
    expect(await firstBytes(avro.topics.baked)).toEqual({ [framedOrder.orderId]: false, [pythonOrder]: false });
    expect(await firstBytes(avro.topics.delivered)).toEqual({ [framedOrder.orderId]: true, [pythonOrder]: true });
    expect(await recordCount(avro.topics.deadLetter)).toBe(0);
  }, 180_000);

  it('waits out a registry that bake cannot reach, dead-letters nothing, and delivers once it is back (exactly-once)', async () => {
    const avro = withTestRegistry(kafkaTestSettings({ flags: { timeScale: '0.001' } }), 'avro');
    // Exactly-once too: the framed outputs go out in each record's transaction.
    const settings: Settings = { ...avro, shop: { ...avro.shop, processing: 'exactly-once' } };
    await createShopTopics(settings);
    const relay = await registryRelay(settings.schemaRegistry?.url ?? '');
    const cutOff: Settings = { ...settings, schemaRegistry: { url: relay.url } };
    const running = await shop(settings, ['assemble', 'deliver', 'status']);
    const before = logs.lines.length;
    await shop(cutOff, ['bake']);
    expect(logs.lines.slice(before).some((line) => /Schema Registry is not reachable/.test(line.msg ?? ''))).toBe(true);

    const order = await placeOrder(running.bus, settings);
    await waitFor(() => viewStatus(settings, order.orderId) === 200, 'assembled', 60_000);
    // Bake cannot read the framed pizza-assembled record: it waits, as for a broker outage.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(viewStatus(settings, order.orderId)).toBe(200);
    expect(await recordCount(settings.topics.deadLetter)).toBe(0);

    await relay.up();
    await waitFor(
      () => viewStatus(settings, order.orderId) === DELIVERED,
      'delivered once the registry is back',
      90_000,
    );
    expect(viewTimeline(settings, order.orderId)).toEqual([100, 200, 300, DELIVERED]);
    await expectFramed(settings.topics.baked, 1, 'PizzaBaked');
    expect(await recordCount(settings.topics.deadLetter)).toBe(0);
  }, 180_000);

  it('stops a role at start, in one line naming the topic and subject, when the registry refuses its contract', async () => {
    const settings = withTestRegistry(kafkaTestSettings(), 'avro');
    await createShopTopics(settings);
    const subject = `${settings.topics.baked}-value`;
    // Another shape already holds the subject; under the registry's BACKWARD level the contract cannot follow it.
    const registry = await testRegistryClient();
    await registry.register(subject, {
      schemaType: 'AVRO',
      schema: JSON.stringify({ type: 'record', name: 'PizzaBaked', fields: [{ name: 'oven', type: 'string' }] }),
    });
    const failure = startShop({ settings, roles: ['bake'], logs });
    await expect(failure).rejects.toMatchObject({ code: 'SCHEMA_REFUSED', userFacing: true });
    const message = await failure.catch((error: Error) => error.message);
    expect(message).toContain(`Schema Registry refused the contract of ${settings.topics.baked} (subject ${subject}`);
    expect(message).toMatch(/incompatible/);
    expect(message).not.toContain('\n');
  });
});
