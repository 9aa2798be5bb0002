import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { OrdersStore } from '../../../src/adapters/sqlite/orders-store.js';
import { sampleOrder } from '../../support/shop.js';

const KEY = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('the orders view keeps the note for the driver', () => {
  it('with the order being placed, so that an order published again after a crash still carries it', () => {
    const store = OrdersStore.open(':memory:');
    onTestFinished(() => store.close());
    const noted = sampleOrder({ deliveryNote: 'ring twice' });
    const plain = sampleOrder({ customerId: noted.customerId });
    const placing = store.beginPlacement(noted, KEY, 1_000).order;
    expect(placing.deliveryNote).toBe('ring twice');
    expect(placing).toEqual(store.getOrder(noted.orderId));
    store.beginPlacement(plain, '1f8fad5b-d9cb-469f-a165-70867728950e', 2_000);
    expect(store.ordersBeingPlaced().map((order) => [order.orderId, order.deliveryNote])).toEqual([
      [noted.orderId, 'ring twice'],
      [plain.orderId, undefined],
    ]);
    expect(store.getOrder(plain.orderId)).not.toHaveProperty('deliveryNote');
  });

  it('in a file made before the note, once it is opened: old orders have none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pizza-note-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'orders.db');
    const old = new Database(path);
    old.exec(`
      CREATE TABLE orders (order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, username TEXT NOT NULL,
        sauce TEXT NOT NULL, cheese TEXT NOT NULL, main_topping TEXT NOT NULL, extra_toppings TEXT NOT NULL,
        created_at INTEGER NOT NULL, placement TEXT NOT NULL DEFAULT 'placed', idempotency_key TEXT);
      INSERT INTO orders VALUES ('0000abcd', '${'c'.repeat(32)}', 'old', 'Tomato', 'Gouda', 'Ham', '[]', 5, 'placed', NULL);`);
    old.close();
    const store = OrdersStore.open(path);
    onTestFinished(() => store.close());
    expect(store.getOrder('0000abcd')).toMatchObject({ username: 'old' });
    expect(store.getOrder('0000abcd')).not.toHaveProperty('deliveryNote');
    const noted = sampleOrder({ deliveryNote: 'leave it with the neighbour' });
    store.beginPlacement(noted, KEY, 10);
    expect(store.getOrder(noted.orderId)?.deliveryNote).toBe('leave it with the neighbour');
  });
});
