import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { replayDeliveries } from '../../src/domain/delivery.js';
import { encodeEvent, orderedEvent } from '../../src/domain/events.js';
import { startShop } from '../../src/roles/shop.js';
import { testSettings } from '../support/settings.js';
import { sampleOrder, silentLogs, waitFor } from '../support/shop.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("deliver's memory comes back from the topics (issue 9)", () => {
  it('rebuilds early warnings and pending pizzas from acknowledged events, whatever order they were read in', () => {
    const memory = replayDeliveries([
      { orderId: 'a0000001', kind: 'ordered', customerId: 'c1' },
      { orderId: 'a0000002', kind: 'baked' },
      { orderId: 'a0000003', kind: 'baked' },
      { orderId: 'a0000003', kind: 'ordered', customerId: 'c3' },
    ]);
    expect(Object.fromEntries(memory)).toEqual({
      a0000001: { state: 'awaiting-pizza', customerId: 'c1' },
      a0000002: { state: 'pending' },
      a0000003: { state: 'delivered', customerId: 'c3' },
    });
  });

  it('a second instance on another data dir delivers every pizza the first one knew of, pending ones included', async () => {
    const bus = new EmbeddedBus({ partitions: 4 });
    cleanups.push(() => bus.close());
    const first = testSettings({ timeScale: '0' });
    const second = testSettings({ timeScale: '0' });
    cleanups.push(first.cleanup, second.cleanup);
    const settings = first.settings;
    const hostA = await startShop({ settings, roles: ['deliver'], logs: silentLogs(), bus });

    // Early warnings for half the orders, and pizzas baked before their order for the other half.
    const warned = Array.from({ length: 6 }, () => sampleOrder());
    const bakedFirst = Array.from({ length: 6 }, () => sampleOrder());
    const now = Date.now();
    for (const order of warned) {
      await bus.publish(settings.topics.ordered, order.orderId, encodeEvent(orderedEvent(order, 100, now)));
    }
    for (const order of bakedFirst) {
      await bus.publish(settings.topics.baked, order.orderId, encodeEvent({ status: 300, timestamp: now }));
    }
    await waitFor(
      () => bus.records(settings.topics.pending).length === bakedFirst.length,
      'every early-baked pizza reported pending',
    );
    await hostA.stop();

    // Host B has never seen any of it: its data dir is empty.
    const hostB = await startShop({
      settings: { ...second.settings, topics: settings.topics, groupIds: settings.groupIds },
      roles: ['deliver'],
      logs: silentLogs(),
      bus,
    });
    cleanups.push(() => hostB.stop());
    for (const order of warned) {
      await bus.publish(settings.topics.baked, order.orderId, encodeEvent({ status: 300, timestamp: now + 1 }));
    }
    for (const order of bakedFirst) {
      await bus.publish(settings.topics.ordered, order.orderId, encodeEvent(orderedEvent(order, 100, now + 1)));
    }
    const all = [...warned, ...bakedFirst].map((order) => order.orderId);
    await waitFor(
      () => all.every((id) => bus.records(settings.topics.delivered).some((record) => record.key === id)),
      'every pizza delivered by host B',
    );
    // Nothing was reported pending twice, and no early warning was forgotten (that would make it pending).
    const pending = bus.records(settings.topics.pending).map((record) => record.key);
    expect(pending.sort()).toEqual(bakedFirst.map((order) => order.orderId).sort());
    const delivered = bus.records(settings.topics.delivered).map((record) => record.key);
    expect(delivered.sort()).toEqual([...all].sort());
  });
});
