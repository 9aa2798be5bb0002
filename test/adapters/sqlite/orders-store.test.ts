import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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
    const asked: string[] = [];
    const unchangedFor = (ms: number) => (orderId: string) => {
      asked.push(orderId);
      return ms;
    };
    expect(store.markStuck(catalog, 10_000, 45_000, unchangedFor(10_000))).toEqual([]);
    // Only open orders are asked about: a completed one is never stuck.
    expect(asked).toEqual([waiting.orderId]);
    expect(store.markStuck(catalog, 50_000, 45_000, unchangedFor(45_000))).toEqual([waiting.orderId]);
    expect(store.getStatus(waiting.orderId)?.status).toBe(50);
    expect(store.getStatus(waiting.orderId)?.updatedAt).toBe(50_000);
  });

  it("judges an order by how long the watchdog saw it unchanged, not by its row's time from another clock", () => {
    const store = memory();
    const order = sampleOrder();
    // Placed by a web app whose clock is 10 minutes behind the watchdog's.
    store.placeOrder(order, { status: 100, timestamp: 0 }, catalog, 0);
    expect(store.markStuck(catalog, 600_000, 45_000, () => 1_000)).toEqual([]);
    expect(store.getStatus(order.orderId)?.status).toBe(100);
  });

  it('never flags an order that was never placed: stage events alone leave nobody waiting', () => {
    const store = memory();
    const placed = sampleOrder();
    store.placeOrder(placed, { status: 100, timestamp: 0 }, catalog, 0);
    // Baked and pending under an id no pizza-ordered ever named: the stages work on it, nobody waits.
    store.applyEvent(event('0123abcd', 300, 0), catalog);
    store.applyEvent(event('0123abcd', 150, 0), catalog);
    expect(store.markStuck(catalog, 50_000, 45_000, () => 50_000)).toEqual([placed.orderId]);
    expect(store.getStatus('0123abcd')?.status).toBe(150);
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

describe('the view history, from the events', () => {
  it('numbers each event that changed the status like the status; duplicates are only counted', () => {
    const store = memory();
    const order = sampleOrder();
    store.placeOrder(order, { status: 100, timestamp: 1_000 }, catalog, 1_000);
    expect(store.applyEvent(event(order.orderId, 200, 2_000, '7'), catalog)).toBe(true);
    const assembledSeq = store.latestStatusSeq();
    expect(store.applyEvent(event(order.orderId, 200, 2_000, '7'), catalog)).toBe(false);
    expect(store.applyEvent(event(order.orderId, 100, 1_000, '8'), catalog)).toBe(false);
    expect(store.applyEvent(event(order.orderId, 300, 3_000, '9'), catalog)).toBe(true);
    const bakedSeq = store.latestStatusSeq();
    expect(store.markStuck(catalog, 100_000, 45_000, () => 45_000)).toEqual([order.orderId]);

    expect(store.appliedEvents(order.orderId).map(({ seq, status, offset }) => ({ seq, status, offset }))).toEqual([
      { seq: assembledSeq, status: 200, offset: '7' },
      { seq: bakedSeq, status: 300, offset: '9' },
    ]);
    // One row per event read: the ignored old one is in the timeline, with no change of its own.
    expect(store.listEvents(order.orderId).map((entry) => entry.offset)).toEqual(['8', '7', '9']);
    expect(store.statusSeq(order.orderId)).toBe(store.latestStatusSeq());
    expect(store.duplicatesIgnored()).toBe(2);
  });

  it('goes with the status retention, and the duplicates count outlives it', () => {
    const store = memory();
    const order = sampleOrder();
    store.placeOrder(order, { status: 100, timestamp: 0 }, catalog, 0);
    store.applyEvent(event(order.orderId, 100, 0), catalog);
    store.applyEvent(event(order.orderId, 200, 10), catalog);
    store.purge(5 * 3_600_000, 3_600_000, 3_600_000);
    expect(store.appliedEvents(order.orderId)).toEqual([]);
    expect(store.duplicatesIgnored()).toBe(1);
  });

  it('takes over the change numbers of a file that kept a status_history table, losing no order, event or status', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pizza-orders-'));
    try {
      const path = join(dir, 'orders.db');
      const old = new Database(path);
      old.exec(`CREATE TABLE orders (order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, username TEXT NOT NULL,
        sauce TEXT NOT NULL, cheese TEXT NOT NULL, main_topping TEXT NOT NULL, extra_toppings TEXT NOT NULL,
        created_at INTEGER NOT NULL, placement TEXT NOT NULL DEFAULT 'placed', idempotency_key TEXT);
        CREATE TABLE status (order_id TEXT PRIMARY KEY, status INTEGER NOT NULL, event_status INTEGER NOT NULL,
          event_timestamp INTEGER NOT NULL, updated_at INTEGER NOT NULL, seq INTEGER NOT NULL);
        CREATE TABLE status_changes (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
        CREATE TABLE order_events (topic TEXT NOT NULL, partition INTEGER NOT NULL, offset TEXT NOT NULL,
          order_id TEXT NOT NULL, status INTEGER NOT NULL, event_timestamp INTEGER NOT NULL,
          received_at INTEGER NOT NULL, PRIMARY KEY (topic, partition, offset));
        CREATE TABLE status_history (seq INTEGER PRIMARY KEY, order_id TEXT NOT NULL, status INTEGER NOT NULL,
          event_status INTEGER NOT NULL, event_timestamp INTEGER NOT NULL, changed_at INTEGER NOT NULL,
          topic TEXT, partition INTEGER, offset TEXT);
        CREATE TABLE view_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO view_counters VALUES ('events_ignored', 4);
        INSERT INTO orders VALUES ('0000abcd', '${'c'.repeat(32)}', 'old', 'Tomato', 'Gouda', 'Ham', '[]', 5, 'placed', NULL);
        INSERT INTO order_events VALUES ('pizza-ordered', 0, '3', '0000abcd', 100, 5, 6);
        INSERT INTO order_events VALUES ('pizza-assembled', 1, '8', '0000abcd', 200, 7, 8);
        INSERT INTO order_events VALUES ('pizza-assembled', 1, '9', '0000abcd', 200, 7, 9);
        INSERT INTO status_history VALUES (1, '0000abcd', 100, 100, 5, 6, NULL, NULL, NULL);
        INSERT INTO status_history VALUES (2, '0000abcd', 200, 200, 7, 8, 'pizza-assembled', 1, '8');
        INSERT INTO status VALUES ('0000abcd', 200, 200, 7, 8, 2);
        INSERT INTO status_changes VALUES (1, 2);`);
      old.close();
      const store = OrdersStore.open(path);
      stores.push(store);
      expect(store.getOrder('0000abcd')).toMatchObject({ status: 200, placement: 'placed', username: 'old' });
      expect(store.listEvents('0000abcd')).toHaveLength(3);
      expect(store.appliedEvents('0000abcd').map(({ seq, offset }) => ({ seq, offset }))).toEqual([
        { seq: 2, offset: '8' },
      ]);
      expect(store.latestStatusSeq()).toBe(2);
      expect(store.duplicatesIgnored()).toBe(4);
      const tables = store.file.db.prepare("SELECT name FROM sqlite_master WHERE name = 'status_history'").all();
      expect(tables).toEqual([]);
      // New events carry their change number from here on.
      expect(store.applyEvent({ ...event('0000abcd', 300, 10, '12'), topic: 'pizza-baked' }, catalog)).toBe(true);
      expect(store.appliedEvents('0000abcd').map(({ seq }) => seq)).toEqual([2, 3]);
      store.close();
      // Opening the file again finds nothing left to migrate.
      const again = OrdersStore.open(path);
      stores.push(again);
      expect(again.appliedEvents('0000abcd').map(({ seq }) => seq)).toEqual([2, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('orders being placed', () => {
  const KEY = '0f8fad5b-d9cb-469f-a165-70867728950e';

  it('writes an order as placing once per customer and key, and lists it only until it fails', () => {
    const store = memory();
    const order = sampleOrder();
    const first = store.beginPlacement(order, KEY, 1_000);
    expect(first).toMatchObject({ created: true, order: { orderId: order.orderId, placement: 'placing', status: 0 } });
    // The order it answers with, made without reading the row back, is the row.
    expect(first.order).toEqual(store.getOrder(order.orderId));
    const again = store.beginPlacement({ ...order, orderId: 'ffffffff' }, KEY, 2_000);
    expect(again).toMatchObject({ created: false, order: { orderId: order.orderId } });
    expect(store.getOrder('ffffffff')).toBeUndefined();
    expect(store.ordersBeingPlaced().map((row) => row.orderId)).toEqual([order.orderId]);
    expect(store.listOrders(order.customerId).map((row) => row.orderId)).toEqual([order.orderId]);
    expect(store.latestStatusSeq()).toBe(0);

    expect(store.failPlacement(order.orderId)).toBe(true);
    expect(store.listOrders(order.customerId)).toEqual([]);
    expect(store.ordersBeingPlaced()).toEqual([]);
    expect(store.findByIdempotencyKey(order.customerId, KEY)?.placement).toBe('failed');
  });

  it("answers with the view's order when the id is another customer's already", () => {
    const store = memory();
    const theirs = sampleOrder();
    store.placeOrder(theirs, { status: 100, timestamp: 1 }, catalog, 1);
    const ours = store.beginPlacement(sampleOrder({ orderId: theirs.orderId }), KEY, 2_000);
    expect(ours.order).toEqual(store.getOrder(theirs.orderId));
    expect(ours.order.customerId).toBe(theirs.customerId);
  });

  it('is confirmed by any event of the order that the status role applies, even one that seemed to fail', () => {
    const store = memory();
    const placing = sampleOrder();
    const failed = sampleOrder();
    store.beginPlacement(placing, KEY, 1_000);
    store.beginPlacement(failed, '7c9e6679-7425-40de-944b-e07fc1f90ae7', 1_000);
    store.failPlacement(failed.orderId);
    store.applyEvent(event(placing.orderId, 200, 2_000), catalog);
    store.applyEvent(event(failed.orderId, 100, 1_000), catalog, failed);
    expect(store.getOrder(placing.orderId)).toMatchObject({ placement: 'placed', status: 200 });
    expect(store.getOrder(failed.orderId)).toMatchObject({ placement: 'placed', status: 100 });
    expect(store.hasEvents(placing.orderId)).toBe(true);
    expect(store.hasEvents('0badf00d')).toBe(false);
  });

  it('keeps the key a pizza-ordered header brings, unless it is malformed or another order of the customer has it', () => {
    const store = memory();
    const fromTopic = sampleOrder();
    store.applyEvent(event(fromTopic.orderId, 100, 1_000), catalog, fromTopic, KEY);
    expect(store.findByIdempotencyKey(fromTopic.customerId, KEY)?.orderId).toBe(fromTopic.orderId);

    const sameCustomer = sampleOrder({ customerId: fromTopic.customerId });
    store.applyEvent(event(sameCustomer.orderId, 100, 1_000), catalog, sameCustomer, KEY);
    expect(store.getOrder(sameCustomer.orderId)).toMatchObject({ placement: 'placed', idempotencyKey: undefined });

    const garbage = sampleOrder();
    store.applyEvent(event(garbage.orderId, 100, 1_000), catalog, garbage, "'; DROP TABLE orders; --");
    expect(store.getOrder(garbage.orderId)?.idempotencyKey).toBeUndefined();
  });

  it('adds the new columns to a file made by an older version, keeping its orders placed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pizza-orders-'));
    try {
      const path = join(dir, 'orders.db');
      const old = new Database(path);
      old.exec(`CREATE TABLE orders (order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, username TEXT NOT NULL,
        sauce TEXT NOT NULL, cheese TEXT NOT NULL, main_topping TEXT NOT NULL, extra_toppings TEXT NOT NULL,
        created_at INTEGER NOT NULL);
        INSERT INTO orders VALUES ('0000abcd', '${'c'.repeat(32)}', 'old', 'Tomato', 'Gouda', 'Ham', '[]', 5);`);
      old.close();
      const store = OrdersStore.open(path);
      stores.push(store);
      expect(store.getOrder('0000abcd')).toMatchObject({ placement: 'placed', idempotencyKey: undefined });
      store.beginPlacement(sampleOrder({ customerId: 'c'.repeat(32) }), KEY, 6);
      expect(store.findByIdempotencyKey('c'.repeat(32), KEY)?.placement).toBe('placing');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
