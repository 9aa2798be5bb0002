import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { BusRecord } from '../../../src/adapters/bus/bus.js';
import { Dispatcher } from '../../../src/adapters/bus/dispatcher.js';

const log = pino({ level: 'silent' });

function record(key: string, offset: number, partition = 0): BusRecord {
  return {
    topic: 't',
    partition,
    offset: String(offset),
    key,
    keyBytes: Buffer.from(key),
    value: Buffer.from('{}'),
    timestamp: 0,
    headers: {},
  };
}

/** Waits until `condition` holds; `what` names it when it never does. */
function until(condition: () => boolean, what: string): Promise<void> {
  return vi.waitFor(() => expect(condition(), what).toBe(true), { timeout: 5_000, interval: 5 });
}

describe('dispatcher', () => {
  it('runs the next record of a key even when committing the one before it threw (issue 8)', async () => {
    const handled: string[] = [];
    let commits = 0;
    const dispatcher = new Dispatcher({
      capacity: 4,
      log,
      handle: async (item) => {
        handled.push(item.offset);
      },
      commit: () => {
        commits += 1;
        if (commits === 1) throw new Error('commit store failed');
      },
      deadLetter: async () => {},
    });
    dispatcher.dispatch(record('aaaa0001', 0));
    dispatcher.dispatch(record('aaaa0001', 1));
    await until(() => handled.length === 2, 'both records of the key');
    expect(handled).toEqual(['0', '1']);
    await dispatcher.drain(100);
  });

  it('runs the next record of a key even when dead-lettering the one before it keeps failing until revoked', async () => {
    const handled: string[] = [];
    let deadLetterAttempts = 0;
    const dispatcher = new Dispatcher({
      capacity: 4,
      log,
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 5 },
      handle: async (item) => {
        if (item.offset === '0') throw new Error('always fails');
        handled.push(`${item.partition}:${item.offset}`);
      },
      commit: () => {},
      deadLetter: async () => {
        deadLetterAttempts += 1;
        throw new Error('dead-letter topic unavailable');
      },
    });
    dispatcher.dispatch(record('bbbb0001', 0));
    dispatcher.dispatch(record('bbbb0001', 1));
    // The first record is stuck retrying its dead letter; the next one of its key waits behind it.
    await until(() => deadLetterAttempts >= 3, 'the dead letter tried three times');
    expect(handled).toEqual([]);
    // The partition moves: the stuck record gives way, and the key is free again.
    dispatcher.revoke('t', 0);
    dispatcher.dispatch(record('bbbb0001', 5));
    await until(() => handled.length === 1, 'the key to run again');
    expect(handled).toEqual(['0:5']);
    await dispatcher.drain(100);
  });

  it('never waits in dispatch: it queues past capacity, and says when there is room again at half its limit', async () => {
    const releases: Array<() => void> = [];
    let rooms = 0;
    const dispatcher = new Dispatcher({
      capacity: 2,
      queueLimit: 3,
      log,
      handle: () => new Promise<void>((resolve) => releases.push(resolve)),
      commit: () => {},
      deadLetter: async () => {},
      onRoom: () => {
        rooms += 1;
      },
    });
    for (let offset = 0; offset < 3; offset += 1)
      expect(dispatcher.dispatch(record(`cccc000${offset}`, offset))).toBe(true);
    expect(dispatcher.hasRoom()).toBe(false);
    await until(() => releases.length === 2, 'two records running');
    releases.shift()?.();
    await until(() => releases.length === 2, 'the queued record running');
    // Two of three taken: room for one more, but not yet time to resume fetching.
    expect(dispatcher.hasRoom()).toBe(true);
    expect(rooms).toBe(0);
    releases.shift()?.();
    await until(() => rooms === 1, 'room at half the limit');
    for (const release of releases) release();
    await dispatcher.drain(100);
  });
});
