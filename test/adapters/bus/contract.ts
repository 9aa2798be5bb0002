import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus, BusRecord, Subscription } from '../../../src/adapters/bus/bus.js';
import { partitionForKey } from '../../../src/adapters/bus/murmur2.js';

/** What the contract needs from a bus implementation under test. */
export interface BusFixture {
  bus: Bus;
  /** Creates a topic with a fresh random name. */
  createTopic(partitions: number): Promise<string>;
  newGroupId(): string;
  close(): Promise<void>;
}

const log = pino({ level: 'silent' });

/** A promise with its resolve/reject in hand, to hold a handler mid-work. */
function gate<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const value = (text: string) => Buffer.from(text, 'utf8');

/**
 * The semantics every bus gives the roles, stated once and run against each
 * implementation: keyed partitioning as Java clients do it, order within a
 * partition, groups that share partitions, commits after the work, and
 * redelivery of whatever was not acknowledged.
 */
export function busContract(name: string, makeFixture: () => Promise<BusFixture>): void {
  describe(`bus contract: ${name}`, () => {
    let fixture: BusFixture;
    const subscriptions: Subscription[] = [];

    beforeEach(async () => {
      fixture = await makeFixture();
    });
    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.stop()));
      await fixture.close();
    });

    const subscribe = async (
      topics: string[],
      groupId: string,
      handle: (record: BusRecord) => Promise<void>,
      capacity = 4,
    ) => {
      const subscription = await fixture.bus.subscribe({
        groupId,
        clientId: 'contract',
        topics,
        capacity,
        handle,
        log,
      });
      subscriptions.push(subscription);
      return subscription;
    };

    it('puts a key on the partition Java clients pick (murmur2)', async () => {
      const topic = await fixture.createTopic(4);
      const keys = ['a1b2c3d4', '00000000', 'ffffffff', 'deadbeef', '12345678', '9abcdef0'];
      for (const key of keys) {
        const delivery = await fixture.bus.publish(topic, key, value(key));
        expect(delivery.partition).toBe(partitionForKey(key, 4));
      }
      const seen: BusRecord[] = [];
      await subscribe([topic], fixture.newGroupId(), async (record) => {
        seen.push(record);
      });
      await until(() => seen.length === keys.length, 'all records');
      for (const record of seen) expect(record.partition).toBe(partitionForKey(record.key ?? '', 4));
    });

    it('hands records over in partition order, and never reorders one key even with capacity > 1', async () => {
      const topic = await fixture.createTopic(1);
      const published = Array.from({ length: 40 }, (_, i) => ({ key: `key0000${i % 5}`, text: String(i) }));
      for (const { key, text } of published) await fixture.bus.publish(topic, key, value(text));

      const oneAtATime: string[] = [];
      await subscribe(
        [topic],
        fixture.newGroupId(),
        async (record) => {
          oneAtATime.push(record.value?.toString() ?? '');
        },
        1,
      );
      const concurrent: BusRecord[] = [];
      await subscribe(
        [topic],
        fixture.newGroupId(),
        async (record) => {
          // Uneven work, so records of different keys finish out of order.
          await new Promise((resolve) => setTimeout(resolve, Number(record.value?.toString()) % 3));
          concurrent.push(record);
        },
        4,
      );
      await until(() => oneAtATime.length === 40 && concurrent.length === 40, 'both groups to read all 40');
      expect(oneAtATime).toEqual(published.map(({ text }) => text));
      for (let k = 0; k < 5; k += 1) {
        const ofKey = concurrent
          .filter((record) => record.key === `key0000${k}`)
          .map((record) => Number(record.value?.toString()));
        expect(ofKey).toEqual([...ofKey].sort((x, y) => x - y));
        expect(ofKey).toHaveLength(8);
      }
    });

    it('shares the partitions of a topic among the members of a group', async () => {
      const topic = await fixture.createTopic(4);
      const groupId = fixture.newGroupId();
      const byMember: Array<Set<string>> = [new Set(), new Set()];
      const handled: string[] = [];
      for (const member of [0, 1]) {
        await subscribe([topic], groupId, async (record) => {
          byMember[member]?.add(`${record.partition}`);
          handled.push(record.key ?? '');
        });
      }
      const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(7, '0')}`);
      await Promise.all(keys.map((key) => fixture.bus.publish(topic, key, value(key))));
      await until(() => handled.length >= keys.length, 'every record handled');
      expect(new Set(handled).size).toBe(keys.length);
      expect(byMember[0]?.size).toBeGreaterThan(0);
      expect(byMember[1]?.size).toBeGreaterThan(0);
      const overlap = [...(byMember[0] ?? [])].filter((partition) => byMember[1]?.has(partition));
      expect(overlap).toEqual([]);
    });

    it('keeps working for every member when one joins while work is in flight', async () => {
      const topic = await fixture.createTopic(2);
      const groupId = fixture.newGroupId();
      const held = gate();
      const handled = new Set<string>();
      let holding = true;
      await subscribe(
        [topic],
        groupId,
        async (record) => {
          if (holding) await held.promise;
          handled.add(record.key ?? '');
        },
        1,
      );
      const keys = Array.from({ length: 12 }, (_, i) => `join${String(i).padStart(4, '0')}`);
      await Promise.all(keys.map((key) => fixture.bus.publish(topic, key, value(key))));
      // The first member is busy with its one slot; a second member joins and takes a partition.
      await subscribe([topic], groupId, async (record) => {
        handled.add(record.key ?? '');
      });
      holding = false;
      held.resolve();
      await until(() => keys.every((key) => handled.has(key)), 'every record handled by one member or the other');
      await fixture.bus.publish(topic, 'latecomer', value('late'));
      await until(() => handled.has('latecomer'), 'a record published after the rebalance');
    });

    it('does not redeliver what a group acknowledged', async () => {
      const topic = await fixture.createTopic(1);
      const groupId = fixture.newGroupId();
      for (const i of [1, 2, 3]) await fixture.bus.publish(topic, `key0000${i}`, value(`first-${i}`));
      const first: string[] = [];
      const subscription = await subscribe([topic], groupId, async (record) => {
        first.push(record.value?.toString() ?? '');
      });
      await until(() => first.length === 3, 'the first three');
      await subscription.stop();

      await fixture.bus.publish(topic, 'key00004', value('second-4'));
      const second: string[] = [];
      await subscribe([topic], groupId, async (record) => {
        second.push(record.value?.toString() ?? '');
      });
      await until(() => second.length >= 1, 'the new record');
      expect(second).toEqual(['second-4']);
    });

    it('redelivers unacknowledged work, and never commits past it, after a member leaves', async () => {
      const topic = await fixture.createTopic(1);
      const groupId = fixture.newGroupId();
      for (const key of ['slow0001', 'fast0002', 'fast0003']) await fixture.bus.publish(topic, key, value(key));
      const held = gate();
      const done: string[] = [];
      const subscription = await subscribe([topic], groupId, async (record) => {
        if (record.key === 'slow0001') await held.promise;
        done.push(record.key ?? '');
      });
      await until(() => done.length === 2, 'the two fast records');
      const stopping = subscription.stop();
      held.reject(new Error('interrupted by shutdown'));
      await stopping;

      const again: string[] = [];
      await subscribe([topic], groupId, async (record) => {
        again.push(record.key ?? '');
      });
      await until(() => again.length === 3, 'all three again');
      expect(again).toEqual(['slow0001', 'fast0002', 'fast0003']);
    });

    it('works on up to `capacity` records at once', async () => {
      const topic = await fixture.createTopic(2);
      const held = gate();
      let running = 0;
      let peak = 0;
      let finished = 0;
      await subscribe(
        [topic],
        fixture.newGroupId(),
        async () => {
          running += 1;
          peak = Math.max(peak, running);
          await held.promise;
          running -= 1;
          finished += 1;
        },
        3,
      );
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => fixture.bus.publish(topic, `cap${String(i).padStart(5, '0')}`, value('x'))),
      );
      await until(() => running === 3, 'three records in flight');
      held.resolve();
      await until(() => finished === 8, 'all eight records');
      expect(peak).toBe(3);
    });

    it('retries a failing handler until it succeeds, then moves on', async () => {
      const topic = await fixture.createTopic(1);
      let attempts = 0;
      const handled: string[] = [];
      await subscribe([topic], fixture.newGroupId(), async (record) => {
        if (record.key === 'flaky001' && ++attempts < 3) throw new Error('transient');
        handled.push(record.key ?? '');
      });
      await fixture.bus.publish(topic, 'flaky001', value('a'));
      await fixture.bus.publish(topic, 'steady01', value('b'));
      await until(() => handled.length === 2, 'both records');
      expect(attempts).toBe(3);
      expect(handled).toContain('flaky001');
    });
  });
}
