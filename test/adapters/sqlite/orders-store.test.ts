import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryStore } from '../../../src/adapters/sqlite/delivery-store.js';
import { OrdersStore } from '../../../src/adapters/sqlite/orders-store.js';
import { testSettings } from '../../support/settings.js';
import { sampleOrder } from '../../support/shop.js';

const fixture = testSettings();
fixture.cleanup();
const catalog = fixture.settings.statuses;
const stores: Array<{ close(): void }> = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});
const memory = () => {
  const store = OrdersStore.open(':memory:');
  stores.push(store);
  return store;
};
const event = (orderId: string, status: number, eventTimestamp: number, offset = String(status)) => ({
  orderId,
  topic: 't',
  partition: 0,
  offset,
  status,
  eventTimestamp,
  receivedAt: eventTimestamp,
});

describe('the orders view', () => {
  it('stores a placed order with its first status and lists a customer’s orders newest first', () => {
    const store = memory();
    const first = sampleOrder({ customerId: 'a'.repeat(32) });
    const second = sampleOrder({ customerId: 'a'.repeat(32), extraToppings: ['Egg', 'Ham'] });
    const stranger = sampleOrder({ customerId: 'b'.repeat(32) });
    store.placeOrder(first, { status: 100, timestamp: 1_000 }, catalog, 1_000);
    store.placeOrder(second, { status: 100, timestamp: 2_000 }, catalog, 2_000);
    store.placeOrder(stranger, { status: 100, timestamp: 3_000 }, catalog, 3_000);
    expect(store.getOrder(second.orderId)).toMatchObject({ ...second, status: 100 });
    expect(store.listOrders('a'.repeat(32)).map((order) => order.orderId)).toEqual([second.orderId, first.orderId]);
  });

  it('applies events by their timestamps and keeps the timeline of every event seen', () => {
    const store = memory();
    const order = sampleOrder();
    store.placeOrder(order, { status: 100, timestamp: 1_000 }, catalog, 1_000);
    expect(store.applyEvent(event(order.orderId, 300, 3_000), catalog)).toBe(true);
    expect(store.applyEvent(event(order.orderId, 200, 2_000), catalog)).toBe(false);
    expect(store.getStatus(order.orderId)?.status).toBe(300);
    expect(store.listEvents(order.orderId).map((e) => e.status)).toEqual([200, 300]);
  });

  it('adds an order it learns from pizza-ordered, once', () => {
    const store = memory();
    const order = sampleOrder();
    store.applyEvent(event(order.orderId, 100, 1_000), catalog, order);
    store.applyEvent(event(order.orderId, 100, 1_000, 'again'), catalog, order);
    expect(store.getOrder(order.orderId)?.username).toBe(order.username);
  });

  it('flags orders that sat still too long as stuck, not completed ones', () => {
    const store = memory();
    const waiting = sampleOrder();
    const done = sampleOrder();
    store.placeOrder(waiting, { status: 100, timestamp: 0 }, catalog, 0);
    store.placeOrder(done, { status: 100, timestamp: 0 }, catalog, 0);
    store.applyEvent(event(done.orderId, 999, 10), catalog);
    expect(store.markStuck(catalog, 10_000, 45_000)).toEqual([]);
    expect(store.markStuck(catalog, 50_000, 45_000)).toEqual([waiting.orderId]);
    expect(store.getStatus(waiting.orderId)?.status).toBe(50);
  });

  it('numbers changes so readers can follow them, and purging never resets the numbers', () => {
    const store = memory();
    const old = sampleOrder();
    store.placeOrder(old, { status: 100, timestamp: 0 }, catalog, 0);
    const afterOld = store.latestStatusSeq();
    expect(store.purge(5 * 3_600_000, 3_600_000, 3_600_000)).toBe(2);
    expect(store.getOrder(old.orderId)).toBeUndefined();

    const fresh = sampleOrder();
    store.placeOrder(fresh, { status: 100, timestamp: 6_000 }, catalog, 6_000);
    expect(store.statusChangesSince(afterOld)).toEqual([{ orderId: fresh.orderId, status: 100, seq: afterOld + 1 }]);
  });
});

describe('delivery’s memory', () => {
  it('survives a restart, on disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pizza-delivery-'));
    try {
      const path = join(dir, 'delivery.db');
      const first = DeliveryStore.open(path);
      first.put('0000abcd', { state: 'awaiting-pizza', customerId: 'c'.repeat(32) }, 1_000);
      first.put('0000beef', { state: 'pending' }, 1_000);
      first.close();
      const second = DeliveryStore.open(path);
      stores.push(second);
      expect(second.get('0000abcd')).toEqual({ state: 'awaiting-pizza', customerId: 'c'.repeat(32) });
      expect(second.get('0000beef')).toEqual({ state: 'pending' });
      second.put('0000abcd', { state: 'delivered', customerId: undefined }, 2_000);
      expect(second.get('0000abcd')).toEqual({ state: 'delivered', customerId: 'c'.repeat(32) });
      expect(second.purge(4 * 3_600_000 + 1_500, 4 * 3_600_000)).toBe(1);
      expect(second.get('0000beef')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
