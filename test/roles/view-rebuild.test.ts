import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { encodeEvent, orderedEvent } from '../../src/domain/events.js';
import { HEADERS } from '../../src/domain/headers.js';
import { startShop } from '../../src/roles/shop.js';
import { testSettings } from '../support/settings.js';
import { openOrders, sampleOrder, silentLogs, waitFor } from '../support/shop.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function orderIds(settings: Parameters<typeof openOrders>[0], customerId: string): string[] {
  const store = openOrders(settings);
  try {
    return store.listOrders(customerId).map((order) => order.orderId);
  } finally {
    store.close();
  }
}

describe('the orders view is a cache of the topics (issue 9)', () => {
  it('comes back whole, owners and timelines included, after its data dir is wiped', async () => {
    const bus = new EmbeddedBus({ partitions: 4 });
    cleanups.push(() => bus.close());
    const fixture = testSettings({ timeScale: '0' });
    cleanups.push(fixture.cleanup);
    const { settings } = fixture;
    const kitchen = await startShop({ settings, roles: ['assemble', 'bake', 'deliver'], logs: silentLogs(), bus });
    cleanups.push(() => kitchen.stop());
    let view = await startShop({ settings, roles: ['status'], logs: silentLogs(), bus });

    const customer = sampleOrder().customerId;
    const orders = Array.from({ length: 10 }, () => sampleOrder({ customerId: customer }));
    for (const order of orders) {
      await bus.publish(settings.topics.ordered, order.orderId, encodeEvent(orderedEvent(order, 100, Date.now())));
    }
    const delivered = () => {
      const store = openOrders(settings);
      try {
        return orders.every((order) => store.getStatus(order.orderId)?.status === 999);
      } finally {
        store.close();
      }
    };
    await waitFor(delivered, 'every order delivered in the view');
    await view.stop();

    rmSync(settings.shop.dataDir, { recursive: true, force: true });
    view = await startShop({ settings, roles: ['status'], logs: silentLogs(), bus });
    cleanups.push(() => view.stop());
    await waitFor(delivered, 'every order delivered in the rebuilt view');
    expect(orderIds(settings, customer).sort()).toEqual(orders.map((order) => order.orderId).sort());
    const store = openOrders(settings);
    try {
      expect(store.listEvents(orders[0]?.orderId ?? '').map((event) => event.status)).toEqual([100, 200, 300, 999]);
      expect(store.getOrder(orders[0]?.orderId ?? '')?.username).toBe('tester');
    } finally {
      store.close();
    }
  });

  it('never merges two customers under one order id: the second is dead-lettered and reported', async () => {
    const bus = new EmbeddedBus({ partitions: 2, deadLetterTopic: 'dead' });
    cleanups.push(() => bus.close());
    const fixture = testSettings({ timeScale: '0' });
    cleanups.push(fixture.cleanup);
    const settings = { ...fixture.settings, topics: { ...fixture.settings.topics, deadLetter: 'dead' } };
    const view = await startShop({ settings, roles: ['status'], logs: silentLogs(), bus });
    cleanups.push(() => view.stop());

    const first = sampleOrder({ orderId: 'c011151d' });
    const second = sampleOrder({ orderId: 'c011151d', username: 'intruder' });
    await bus.publish(settings.topics.ordered, first.orderId, encodeEvent(orderedEvent(first, 100, Date.now())));
    await bus.publish(settings.topics.ordered, second.orderId, encodeEvent(orderedEvent(second, 100, Date.now())));
    const letter = await waitFor(() => bus.records('dead')[0], 'the colliding order dead-lettered');
    expect(letter.headers[HEADERS.deadLetter.reason]?.toString()).toBe('bad-event');
    expect(letter.headers[HEADERS.deadLetter.error]?.toString()).toMatch(/another customer.*order_id_length/);
    expect(orderIds(settings, first.customerId)).toEqual(['c011151d']);
    expect(orderIds(settings, second.customerId)).toEqual([]);
  });
});
