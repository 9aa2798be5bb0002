import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BusRecord, HostRead, HostReadOptions, PartitionOffset } from '../../../src/adapters/bus/bus.js';
import { InvalidEventError } from '../../../src/domain/events.js';
import type { BusFixture } from './contract.js';

const log = pino({ level: 'silent' });

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  await vi.waitFor(
    () => {
      if (!condition()) throw new Error(`timed out waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: 20 },
  );
}

const seen = (records: BusRecord[]) => records.map((record) => record.value?.toString('utf8')).sort();

/**
 * Host readers on every bus: each reads every partition of its topics from
 * where it says, with no group, and is handed only its own records however
 * many readers share the process's consumer.
 */
export function hostReadContract(name: string, makeFixture: () => Promise<BusFixture>): void {
  describe(`host readers: ${name}`, () => {
    let fixture: BusFixture;
    const readers: HostRead[] = [];

    beforeEach(async () => {
      fixture = await makeFixture();
    });
    afterEach(async () => {
      await Promise.all(readers.splice(0).map((reader) => reader.stop()));
      await fixture.close();
    });

    const read = async (options: Partial<HostReadOptions> & Pick<HostReadOptions, 'id' | 'topics' | 'startAt'>) => {
      const received: BusRecord[] = [];
      const positions: PartitionOffset[] = [];
      const reader = await fixture.bus.read({
        capacity: 4,
        role: 'contract',
        retry: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 50 },
        log,
        handle: async (record) => {
          received.push(record);
        },
        onPosition: (position) => positions.push(position),
        ...options,
      });
      readers.push(reader);
      return { reader, received, positions };
    };

    it('reads every partition from where each reader says: the beginning, a stored position, the end', async () => {
      const topic = await fixture.createTopic(2);
      // Keys 'a' and 'd' land on different partitions of two (murmur2: a → 0, d → 1).
      for (const text of ['a1', 'd1', 'a2', 'd2'])
        await fixture.bus.publish(topic, text.slice(0, 1), Buffer.from(text));
      const all = await read({
        id: 'all',
        topics: [topic],
        startAt: (partitions) => partitions.map((partition) => ({ ...partition, from: 'beginning' })),
      });
      const some = await read({
        id: 'some',
        topics: [topic],
        // Partition 1 ('d') from its second record, partition 0 ('a') from now on.
        startAt: (partitions) =>
          partitions.map((partition) => ({ ...partition, from: partition.partition === 1 ? { offset: '1' } : 'end' })),
      });
      await until(() => all.received.length === 4, 'the first reader to read what was there');
      await fixture.bus.publish(topic, 'a', Buffer.from('a3'));
      await until(() => all.received.length === 5 && some.received.length === 2, 'both readers to read on');
      expect(seen(all.received)).toEqual(['a1', 'a2', 'a3', 'd1', 'd2']);
      expect(seen(some.received)).toEqual(['a3', 'd2']);
      await until(() => some.reader.caughtUp(), 'the second reader to be caught up');
      expect(some.reader.positions().sort((x, y) => x.partition - y.partition)).toEqual([
        { topic, partition: 0, offset: '3' },
        { topic, partition: 1, offset: '2' },
      ]);
      expect(some.positions).toContainEqual({ topic, partition: 0, offset: '3' });
    });

    it('hands a reader that starts earlier than another its older records, and the other none twice', async () => {
      const topic = await fixture.createTopic(1);
      for (const text of ['one', 'two']) await fixture.bus.publish(topic, 'k', Buffer.from(text));
      const late = await read({
        id: 'from-the-end',
        topics: [topic],
        startAt: (partitions) => partitions.map((partition) => ({ ...partition, from: 'end' })),
      });
      await fixture.bus.publish(topic, 'k', Buffer.from('three'));
      await until(() => late.received.length === 1, 'the first reader to read the new record');
      const early = await read({
        id: 'from-the-start',
        topics: [topic],
        startAt: (partitions) => partitions.map((partition) => ({ ...partition, from: 'beginning' })),
      });
      await until(() => early.received.length === 3, 'the second reader to read from the start');
      await fixture.bus.publish(topic, 'k', Buffer.from('four'));
      await until(() => early.received.length === 4 && late.received.length === 2, 'both to read the next record');
      expect(late.received.map((record) => record.value?.toString())).toEqual(['three', 'four']);
      expect(early.received.map((record) => record.value?.toString())).toEqual(['one', 'two', 'three', 'four']);
    });

    it('dead-letters a record one reader cannot apply, and neither reader stops', async () => {
      const topic = await fixture.createTopic(1);
      const picky = await read({
        id: 'picky',
        topics: [topic],
        startAt: (partitions) => partitions.map((partition) => ({ ...partition, from: 'beginning' })),
        handle: async (record) => {
          if (record.value?.toString() === 'bad') throw new InvalidEventError('not an event');
          picky.received.push(record);
        },
      });
      const easy = await read({
        id: 'easy',
        topics: [topic],
        startAt: (partitions) => partitions.map((partition) => ({ ...partition, from: 'beginning' })),
      });
      for (const text of ['good', 'bad', 'fine']) await fixture.bus.publish(topic, 'k', Buffer.from(text));
      await until(() => picky.received.length === 2 && easy.received.length === 3, 'both readers to read on');
      expect(seen(picky.received)).toEqual(['fine', 'good']);
      const letters = await vi.waitFor(
        async () => {
          const found = await fixture.bus.readTopic(fixture.deadLetterTopic);
          const mine = found.filter((letter) => letter.value?.toString() === 'bad');
          if (mine.length === 0) throw new Error('no dead letter yet');
          return mine;
        },
        { timeout: 30_000, interval: 100 },
      );
      expect(letters).toHaveLength(1);
      expect(picky.positions.at(-1)).toEqual({ topic, partition: 0, offset: '3' });
    });

    it('lists the running readers with their positions, for role reports and lineage', async () => {
      const topic = await fixture.createTopic(1);
      await fixture.bus.publish(topic, 'k', Buffer.from('x'));
      const one = await read({
        id: 'listed.host.h1',
        role: 'status',
        topics: [topic],
        startAt: (partitions) => partitions.map((partition) => ({ ...partition, from: 'beginning' })),
      });
      await until(() => one.received.length === 1, 'the record to be read');
      await until(
        () => fixture.bus.hostReaders().some((state) => state.positions[0]?.offset === '1'),
        'its position to move',
      );
      expect(fixture.bus.hostReaders().find((state) => state.id === 'listed.host.h1')).toMatchObject({
        role: 'status',
        capacity: 4,
        positions: [{ topic, partition: 0, offset: '1' }],
      });
      await one.reader.stop();
      expect(fixture.bus.hostReaders().find((state) => state.id === 'listed.host.h1')).toBeUndefined();
    });
  });
}
