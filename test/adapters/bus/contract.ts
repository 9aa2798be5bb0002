import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Bus, BusRecord, Subscription } from '../../../src/adapters/bus/bus.js';
import { partitionForKey } from '../../../src/adapters/bus/murmur2.js';
import { InvalidEventError } from '../../../src/domain/events.js';
import { HEADERS } from '../../../src/domain/headers.js';

/** What the contract needs from a bus implementation under test. */
export interface BusFixture {
  bus: Bus;
  /** Creates a topic with a fresh random name. */
  createTopic(partitions: number): Promise<string>;
  /** Where the bus puts dead letters (already created). */
  deadLetterTopic: string;
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

/** Resolves once `condition` holds; a timeout names `what` never happened. */
async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  await vi.waitFor(
    () => {
      if (!condition()) throw new Error(`timed out waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: 20 },
  );
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
      handle: (record: BusRecord, signal: AbortSignal) => Promise<void>,
      capacity = 4,
    ) => {
      const subscription = await fixture.bus.subscribe({
        groupId,
        clientId: 'contract',
        topics,
        capacity,
        handle,
        role: 'contract',
        retry: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100 },
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

    const waitForDeadLetters = (sourceTopic: string, count: number): Promise<BusRecord[]> =>
      vi.waitFor(
        async () => {
          const letters = (await fixture.bus.readTopic(fixture.deadLetterTopic)).filter(
            (record) => record.headers[HEADERS.deadLetter.topic]?.toString() === sourceTopic,
          );
          if (letters.length < count) throw new Error(`${letters.length} of ${count} dead letters from ${sourceTopic}`);
          return letters;
        },
        { timeout: 30_000, interval: 100 },
      );

    it('carries record headers from publisher to handler', async () => {
      const topic = await fixture.createTopic(1);
      const seen: BusRecord[] = [];
      await subscribe([topic], fixture.newGroupId(), async (record) => {
        seen.push(record);
      });
      await fixture.bus.publish(topic, 'head0001', value('{}'), {
        [HEADERS.idempotencyKey]: 'key-1',
        binary: Buffer.from([0, 255]),
      });
      await until(() => seen.length === 1, 'the record');
      expect(seen[0]?.headers[HEADERS.idempotencyKey]?.toString()).toBe('key-1');
      expect(seen[0]?.headers.binary).toEqual(Buffer.from([0, 255]));
    });

    it('dead-letters a bad event at once, with where it came from and why, and moves the partition on', async () => {
      const topic = await fixture.createTopic(1);
      const handled: string[] = [];
      let badAttempts = 0;
      await subscribe([topic], fixture.newGroupId(), async (record) => {
        if (record.key === 'poison01') {
          badAttempts += 1;
          throw new InvalidEventError('field "baking_time": too long');
        }
        handled.push(record.key ?? '');
      });
      await fixture.bus.publish(topic, 'poison01', value('{"baking_time":3e7}'), { traceparent: 't-1' });
      await fixture.bus.publish(topic, 'good0001', value('{}'));
      await until(() => handled.length === 1, 'the good record after the poison');
      const [letter] = await waitForDeadLetters(topic, 1);
      expect(badAttempts).toBe(1);
      expect(letter?.key).toBe('poison01');
      expect(letter?.value?.toString()).toBe('{"baking_time":3e7}');
      const header = (name: string) => letter?.headers[name]?.toString();
      expect(header(HEADERS.deadLetter.partition)).toBe('0');
      expect(header(HEADERS.deadLetter.offset)).toBe('0');
      expect(header(HEADERS.deadLetter.role)).toBe('contract');
      expect(header(HEADERS.deadLetter.reason)).toBe('bad-event');
      expect(header(HEADERS.deadLetter.error)).toContain('baking_time');
      expect(header(`${HEADERS.deadLetter.originalPrefix}traceparent`)).toBe('t-1');
    });

    it('dead-letters a record whose transient failures outlast the retries, and moves on', async () => {
      const topic = await fixture.createTopic(1);
      const handled: string[] = [];
      let attempts = 0;
      await subscribe([topic], fixture.newGroupId(), async (record) => {
        if (record.key === 'broken01') {
          attempts += 1;
          throw new Error('database is locked');
        }
        handled.push(record.key ?? '');
      });
      await fixture.bus.publish(topic, 'broken01', value('a'));
      await fixture.bus.publish(topic, 'after001', value('b'));
      await until(() => handled.length === 1, 'the record after the broken one');
      const [letter] = await waitForDeadLetters(topic, 1);
      expect(attempts).toBe(3);
      expect(letter?.headers[HEADERS.deadLetter.reason]?.toString()).toBe('retries-exhausted');
    });

    it('waits out an unavailable broker however many attempts it takes, and never dead-letters the record', async () => {
      const topic = await fixture.createTopic(1);
      let attempts = 0;
      const handled: string[] = [];
      await subscribe([topic], fixture.newGroupId(), async (record) => {
        if (++attempts < 8) throw Object.assign(new Error('Local: Broker transport failure'), { code: -195 });
        handled.push(record.key ?? '');
      });
      await fixture.bus.publish(topic, 'outage01', value('a'));
      await until(() => handled.length === 1, 'the record once the broker is back');
      expect(attempts).toBe(8);
      const letters = (await fixture.bus.readTopic(fixture.deadLetterTopic)).filter(
        (record) => record.headers[HEADERS.deadLetter.topic]?.toString() === topic,
      );
      expect(letters).toEqual([]);
    });

    it('aborts a record in flight when its partition moves to another member, who then does it', async () => {
      const topic = await fixture.createTopic(2);
      const groupId = fixture.newGroupId();
      const firstAborted: string[] = [];
      const firstStarted: string[] = [];
      await subscribe(
        [topic],
        groupId,
        async (record, signal) => {
          firstStarted.push(record.key ?? '');
          // A long bake: only a revoke ends it.
          await new Promise<void>((_, reject) => {
            signal.addEventListener('abort', () => {
              firstAborted.push(record.key ?? '');
              reject(signal.reason);
            });
          });
        },
        4,
      );
      // One key per partition, so the second member surely takes one of them over.
      const keys = ['oven0001', 'oven0002', 'oven0003', 'oven0004', 'oven0005', 'oven0006'];
      const byPartition = new Map<number, string>();
      for (const key of keys) byPartition.set(partitionForKey(key, 2), byPartition.get(partitionForKey(key, 2)) ?? key);
      for (const key of byPartition.values()) await fixture.bus.publish(topic, key, value('x'));
      await until(() => firstStarted.length === 2, 'both records in the first member');
      const secondDone: string[] = [];
      await subscribe([topic], groupId, async (record) => {
        secondDone.push(record.key ?? '');
      });
      await until(() => secondDone.length >= 1, 'the second member doing a moved record', 60_000);
      expect(firstAborted).toEqual(expect.arrayContaining([secondDone[0]]));
    });

    it('lets a subscriber prepare assigned partitions and choose where to read, and reports what it commits', async () => {
      const topic = await fixture.createTopic(1);
      for (const key of ['from0000', 'from0001', 'from0002', 'from0003']) {
        await fixture.bus.publish(topic, key, value(key));
      }
      const handled: string[] = [];
      const commits: string[] = [];
      let prepared = false;
      const subscription = await fixture.bus.subscribe({
        groupId: fixture.newGroupId(),
        clientId: 'contract',
        topics: [topic],
        capacity: 2,
        role: 'contract',
        log,
        onAssigned: async (partitions) => {
          // Preparing takes a while (as loading state from a store would): records must wait for it.
          await new Promise((resolve) => setTimeout(resolve, 200));
          prepared = true;
          return partitions.map((partition) => ({ ...partition, offset: '2' }));
        },
        onCommit: (position) => {
          commits.push(position.offset);
        },
        handle: async (record) => {
          // Nothing is handed over before the partition is prepared.
          expect(prepared).toBe(true);
          handled.push(record.key ?? '');
        },
      });
      subscriptions.push(subscription);
      await until(() => handled.length === 2 && commits.includes('4'), 'the records from offset 2 on');
      expect(handled).toEqual(['from0002', 'from0003']);
    });

    it('reads parts of partitions without a group, and tells a group its committed offsets', async () => {
      const topic = await fixture.createTopic(1);
      for (const key of ['rng00000', 'rng00001', 'rng00002', 'rng00003']) {
        await fixture.bus.publish(topic, key, value(key));
      }
      const all = await fixture.bus.readRanges([{ topic, partition: 0, toOffset: '4' }]);
      expect(all.map((record) => record.key)).toEqual(['rng00000', 'rng00001', 'rng00002', 'rng00003']);
      const middle = await fixture.bus.readRanges([{ topic, partition: 0, fromOffset: '1', toOffset: '3' }]);
      expect(middle.map((record) => record.offset)).toEqual(['1', '2']);
      const future = await fixture.bus.readRanges([
        { topic, partition: 0, fromTimestamp: Date.now() + 3_600_000, toOffset: '4' },
      ]);
      expect(future).toEqual([]);
      // With no end: up to where the partition ends when the read begins.
      const toEnd = await fixture.bus.readRanges([{ topic, partition: 0, fromOffset: '2' }]);
      expect(toEnd.map((record) => record.key)).toEqual(['rng00002', 'rng00003']);

      const groupId = fixture.newGroupId();
      expect(await fixture.bus.committedOffsets(groupId, [{ topic, partition: 0 }])).toEqual([]);
      const done: string[] = [];
      await subscribe([topic], groupId, async (record) => {
        done.push(record.key ?? '');
      });
      await until(() => done.length === 4, 'all four');
      // Handled is not yet committed: the commit follows the work.
      await vi.waitFor(
        async () => {
          const committed = await fixture.bus.committedOffsets(groupId, [{ topic, partition: 0 }]);
          expect(committed, 'the group committed past all four').toEqual([{ topic, partition: 0, offset: '4' }]);
        },
        { timeout: 10_000, interval: 100 },
      );
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
