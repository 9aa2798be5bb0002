import { afterEach, describe, expect, it } from 'vitest';
import type { PartitionRange } from '../../src/adapters/bus/bus.js';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { DeliveryStore } from '../../src/adapters/sqlite/delivery-store.js';
import { replayDeliveries } from '../../src/domain/delivery.js';
import { encodeEvent, orderedEvent } from '../../src/domain/events.js';
import { restoreDeliveryState } from '../../src/roles/deliver.js';
import { startShop } from '../../src/roles/shop.js';
import { busRecord } from '../support/fake-bus.js';
import { handlerDeps } from '../support/handler-deps.js';
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

describe("deliver's memory in exactly-once mode, without head-of-line blocking", () => {
  it('counts the records a commit named done past its offset, and none of those still in progress', async () => {
    const base = handlerDeps('0');
    const store = DeliveryStore.open(':memory:');
    const { ordered } = base.settings.topics;
    const orderIds = ['0000000a', '0000000b', '0000000c', '0000000d', '0000000e'];
    const records = orderIds.map((orderId, offset) =>
      busRecord(ordered, orderId, orderedEvent({ ...sampleOrder(), orderId }, 100, Date.now()), {
        offset: String(offset),
      }),
    );
    const asked: PartitionRange[] = [];
    base.bus.committedOffsets = async () => [{ topic: ordered, partition: 0, offset: '2', done: ['3'] }];
    base.bus.readRanges = async (ranges) => {
      asked.push(...ranges);
      return records.filter((record) => BigInt(record.offset) < BigInt(ranges[0]?.toOffset ?? '0'));
    };
    await restoreDeliveryState([{ topic: ordered, partition: 0 }], { ...base, store });
    expect(asked.map((range) => range.toOffset)).toEqual(['4']);
    // 0 and 1 before the offset, 3 named done past it; 2 is still being worked on, 4 was not reached.
    expect(orderIds.map((orderId) => store.get(orderId)?.state ?? 'unknown')).toEqual([
      'awaiting-pizza',
      'awaiting-pizza',
      'unknown',
      'awaiting-pizza',
      'unknown',
    ]);
    store.close();
  });
});
