import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OrderLogValue } from '../../../src/adapters/logs/order-log-line.js';
import { OrderLogStore } from '../../../src/adapters/sqlite/order-log-store.js';

let store: OrderLogStore;
beforeEach(() => {
  store = OrderLogStore.open(':memory:');
});
afterEach(() => store.close());

const value = (msg: string, overrides: Partial<OrderLogValue> = {}): OrderLogValue => ({
  time: 1_700_000_000_000,
  level: 30,
  role: 'bake',
  msg,
  fields: {},
  ...overrides,
});
const at = (offset: number, partition = 0) => ({ topic: 'pizza-logs', partition, offset: String(offset) });

describe('the order log store', () => {
  it('keeps one row per record of the topic, however often it is applied', () => {
    expect(store.append('0000abcd', value('baking', { fields: { bakingSeconds: 12 } }), at(0))).toBe(true);
    expect(store.append('0000abcd', value('baking', { fields: { bakingSeconds: 12 } }), at(0))).toBe(false);
    expect(store.append('0000abcd', value('baking'), at(0, 1))).toBe(true);
    const lines = store.latestLines('0000abcd', 'bake');
    expect(lines.map((stored) => stored.line.msg)).toEqual(['baking', 'baking']);
    expect(lines[0]?.line).toEqual({
      time: 1_700_000_000_000,
      level: 30,
      role: 'bake',
      msg: 'baking',
      orderId: '0000abcd',
      bakingSeconds: 12,
    });
  });

  it("reads one role's lines about one order, the newest ones, and those after a line already seen", () => {
    for (let i = 0; i < 5; i += 1) store.append('0000abcd', value(`bake ${i}`), at(i));
    store.append('0000abcd', value('deliver', { role: 'deliver' }), at(5));
    store.append('ffffffff', value('other order'), at(6));
    expect(store.latestLines('0000abcd', 'bake', 2).map((stored) => stored.line.msg)).toEqual(['bake 3', 'bake 4']);
    const [, second] = store.latestLines('0000abcd', 'bake');
    expect(store.linesAfter('0000abcd', 'bake', second?.seq ?? 0).map((stored) => stored.line.msg)).toEqual([
      'bake 2',
      'bake 3',
      'bake 4',
    ]);
    expect(store.latestSeq()).toBe(7);
    expect(store.changesSince(4)).toEqual([
      { orderId: '0000abcd', role: 'bake', seq: 5 },
      { orderId: '0000abcd', role: 'deliver', seq: 6 },
      { orderId: 'ffffffff', role: 'bake', seq: 7 },
    ]);
  });

  it('never numbers a line twice, even after retention removed the newest ones', () => {
    store.append('0000abcd', value('old', { time: 1_000 }), at(0));
    store.append('0000abcd', value('newer', { time: 2_000 }), at(1));
    expect(store.purge(5_000)).toBe(2);
    expect(store.latestSeq()).toBe(0);
    store.append('0000abcd', value('after purge', { time: 9_000 }), at(2));
    expect(store.latestLines('0000abcd', 'bake').map((stored) => stored.seq)).toEqual([3]);
  });

  it('remembers where it read each partition to, and says nothing of partitions it never read', () => {
    store.savePosition({ topic: 'pizza-logs', partition: 1, offset: '41' });
    store.savePosition({ topic: 'pizza-logs', partition: 1, offset: '42' });
    expect(
      store.storedPositions([
        { topic: 'pizza-logs', partition: 0 },
        { topic: 'pizza-logs', partition: 1 },
      ]),
    ).toEqual([{ topic: 'pizza-logs', partition: 1, offset: '42' }]);
  });
});
