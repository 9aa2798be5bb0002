import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { assembledEventSchema, decodeEvent, statusEventSchema } from '../../src/domain/events.js';
import { type RunningShop, startShop } from '../../src/roles/shop.js';
import { testSettings } from '../support/settings.js';
import { openOrders, placeOrder, sampleOrder, silentLogs, viewStatus, waitFor } from '../support/shop.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function kitchen(roles: Parameters<typeof startShop>[0]['roles'], bus?: EmbeddedBus) {
  const fixture = testSettings({ timeScale: '0.001' });
  cleanups.push(fixture.cleanup);
  const sharedBus = bus ?? new EmbeddedBus({ partitions: 2 });
  const shop = await startShop({ settings: fixture.settings, roles, logs: silentLogs(), bus: sharedBus });
  cleanups.push(() => shop.stop());
  cleanups.push(() => sharedBus.close());
  return { ...fixture, shop, bus: sharedBus };
}

describe('the kitchen on the embedded bus', () => {
  it('takes an order from ordered to delivered in the view, through every stage topic', async () => {
    const { settings, bus } = await kitchen(['assemble', 'bake', 'deliver', 'status']);
    // Baked in 12 s by the workshop's formula (worked out in Python: see test/domain/timings.test.ts).
    const recipe = { sauce: 'Tomato', cheese: 'Mozzarella', mainTopping: 'Pepperoni', extraToppings: ['Mushroom'] };
    const order = await placeOrder(bus, settings, sampleOrder(recipe));
    await waitFor(() => viewStatus(settings, order.orderId) === 999, 'delivered');

    const assembled = bus.records(settings.topics.assembled).find((record) => record.key === order.orderId);
    const event = decodeEvent(assembledEventSchema, assembled?.value ?? null);
    expect(event.status).toBe(200);
    expect(event.baking_time).toBe(12);
    expect(bus.records(settings.topics.baked).filter((record) => record.key === order.orderId)).toHaveLength(1);
    expect(bus.records(settings.topics.pending)).toHaveLength(0);

    const store = openOrders(settings);
    const timeline = store.listEvents(order.orderId).map((event) => event.status);
    store.close();
    expect(timeline).toEqual([100, 200, 300, 999]);
  });

  it('reports a pizza baked before its order as pending, then delivers it at factor 2', async () => {
    const { settings, bus } = await kitchen(['deliver', 'status']);
    const order = sampleOrder({ customerId: '0000000000000000000000000000000a' });
    await bus.publish(
      settings.topics.baked,
      order.orderId,
      Buffer.from(JSON.stringify({ status: 300, timestamp: Date.now() })),
    );
    await waitFor(() => bus.records(settings.topics.pending).some((record) => record.key === order.orderId), 'pending');
    await waitFor(() => viewStatus(settings, order.orderId) === 150, 'pending in the view');

    await placeOrder(bus, settings, order);
    const delivered = await waitFor(
      () => bus.records(settings.topics.delivered).find((record) => record.key === order.orderId),
      'delivered',
    );
    expect(decodeEvent(statusEventSchema, delivered.value).status).toBe(999);
    await waitFor(() => viewStatus(settings, order.orderId) === 999, 'delivered in the view');
  });

  it('skips an event it cannot read without blocking the ones behind it', async () => {
    const { settings, bus } = await kitchen(['assemble']);
    await bus.publish(settings.topics.ordered, 'badbad01', Buffer.from('not json'));
    const order = await placeOrder(bus, settings);
    await waitFor(
      () => bus.records(settings.topics.assembled).some((record) => record.key === order.orderId),
      'assembled',
    );
    expect(bus.records(settings.topics.assembled).some((record) => record.key === 'badbad01')).toBe(false);
  });

  it('remembers delivery state across a restart of the deliver role', async () => {
    const fixture = testSettings({ timeScale: '0.001' });
    cleanups.push(fixture.cleanup);
    const bus = new EmbeddedBus({ partitions: 1 });
    cleanups.push(() => bus.close());
    const order = sampleOrder();

    const first = await startShop({ settings: fixture.settings, roles: ['deliver'], logs: silentLogs(), bus });
    await placeOrder(bus, fixture.settings, order);
    const deliveryDb = join(fixture.settings.shop.dataDir, fixture.settings.delivery.fileName);
    // Read-only, as another process would: what is committed to the file.
    await waitFor(() => {
      const db = new Database(deliveryDb, { readonly: true, fileMustExist: true });
      try {
        const row = db.prepare('SELECT state FROM customers WHERE order_id = ?').get(order.orderId) as
          | { state: string }
          | undefined;
        return row?.state === 'awaiting-pizza';
      } finally {
        db.close();
      }
    }, 'the early warning to be stored');
    await first.stop();

    // A fresh deliver role must know the customer from SQLite, so baked means a normal delivery.
    const second: RunningShop = await startShop({
      settings: fixture.settings,
      roles: ['deliver'],
      logs: silentLogs(),
      bus,
    });
    cleanups.push(() => second.stop());
    await bus.publish(
      fixture.settings.topics.baked,
      order.orderId,
      Buffer.from(JSON.stringify({ status: 300, timestamp: Date.now() })),
    );
    await waitFor(
      () => bus.records(fixture.settings.topics.delivered).some((r) => r.key === order.orderId),
      'delivered',
    );
    expect(bus.records(fixture.settings.topics.pending)).toHaveLength(0);
  });
});
