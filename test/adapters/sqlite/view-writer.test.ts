import { describe, expect, it } from 'vitest';
import { OrdersStore } from '../../../src/adapters/sqlite/orders-store.js';
import { ViewWriter } from '../../../src/adapters/sqlite/view-writer.js';
import { testSettings } from '../../support/settings.js';
import { sampleOrder } from '../../support/shop.js';

const fixture = testSettings();
fixture.cleanup();
const catalog = fixture.settings.statuses;
const event = (orderId: string, status: number, eventTimestamp: number) => ({
  orderId,
  topic: 't',
  partition: 0,
  offset: `${orderId}-${status}`,
  status,
  eventTimestamp,
  receivedAt: eventTimestamp,
});

describe('the view writer', () => {
  it('applies events that arrive together in order, each with its own answer', async () => {
    const store = OrdersStore.open(':memory:');
    const writer = new ViewWriter(store, catalog);
    const order = sampleOrder();
    const results = await Promise.all([
      writer.apply(event(order.orderId, 100, 1_000), order),
      writer.apply(event(order.orderId, 300, 3_000)),
      writer.apply(event(order.orderId, 200, 2_000)),
    ]);
    expect(results).toEqual([true, true, false]);
    expect(store.getOrder(order.orderId)?.status).toBe(300);
    expect(store.listEvents(order.orderId)).toHaveLength(3);
    store.close();
  });

  it('stores the idempotency key that came with a pizza-ordered event', async () => {
    const store = OrdersStore.open(':memory:');
    const writer = new ViewWriter(store, catalog);
    const order = sampleOrder();
    const key = '0f8fad5b-d9cb-469f-a165-70867728950e';
    await writer.apply(event(order.orderId, 100, 1_000), order, key);
    expect(store.findByIdempotencyKey(order.customerId, key)?.orderId).toBe(order.orderId);
    store.close();
  });

  it('fails every event of a batch the store could not write, so each is retried', async () => {
    const store = OrdersStore.open(':memory:');
    const writer = new ViewWriter(store, catalog);
    store.close();
    const order = sampleOrder();
    const attempts = [writer.apply(event(order.orderId, 100, 1_000)), writer.apply(event(order.orderId, 200, 2_000))];
    for (const attempt of attempts) await expect(attempt).rejects.toThrow();
  });
});
