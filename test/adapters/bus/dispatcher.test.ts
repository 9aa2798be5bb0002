import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { BusRecord } from '../../../src/adapters/bus/bus.js';
import { Dispatcher } from '../../../src/adapters/bus/dispatcher.js';
import { FakeClock } from '../../support/fake-clock.js';

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

describe('dispatcher: batches', () => {
  it('takes a batch of one partition in one call, and tells one commit for what finished in one turn', async () => {
    const handled: string[] = [];
    const commits: string[] = [];
    const dispatcher = new Dispatcher({
      capacity: 8,
      log,
      handle: async (item) => {
        handled.push(item.offset);
      },
      commit: (topic, partition, next) => commits.push(`${topic}[${partition}]@${next}`),
      deadLetter: async () => {},
    });
    const batch = [0, 1, 2, 3].map((offset) => record(`dddd000${offset}`, offset + 10));
    expect(dispatcher.dispatchBatch(batch)).toBe(true);
    expect(dispatcher.load).toBe(4);
    await until(() => commits.length > 0, 'a commit');
    expect(handled.sort()).toEqual(['10', '11', '12', '13']);
    expect(commits).toEqual(['t[0]@14']);
    await dispatcher.drain(100);
  });

  it('keeps one key in order within a batch and commits only up to the first unfinished record', async () => {
    const started: string[] = [];
    const releases = new Map<string, () => void>();
    const commits: string[] = [];
    const dispatcher = new Dispatcher({
      capacity: 8,
      log,
      handle: (item) =>
        new Promise<void>((resolve) => {
          started.push(item.offset);
          releases.set(item.offset, resolve);
        }),
      commit: (_topic, _partition, next) => commits.push(next),
      deadLetter: async () => {},
    });
    // Offsets 0 and 2 share a key; 1 is another order.
    dispatcher.dispatchBatch([record('eeee0001', 0), record('eeee0002', 1), record('eeee0001', 2)]);
    await until(() => started.length === 2, 'the first record of each key');
    expect(started).toEqual(['0', '1']);
    releases.get('1')?.();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(commits).toEqual([]);
    releases.get('0')?.();
    await until(() => started.length === 3, 'the key’s next record after the first');
    await until(() => commits.includes('2'), 'the commit past the first two');
    releases.get('2')?.();
    await until(() => commits.includes('3'), 'the batch committed');
    await dispatcher.drain(100);
  });

  it('refuses a batch while stopping, and drops a revoked partition’s queued records without committing them', async () => {
    const releases: Array<() => void> = [];
    const commits: string[] = [];
    const signals: AbortSignal[] = [];
    const dispatcher = new Dispatcher({
      capacity: 1,
      log,
      handle: (_item, signal) =>
        new Promise<void>((resolve, reject) => {
          signals.push(signal);
          releases.push(resolve);
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
      commit: (_topic, _partition, next) => commits.push(next),
      deadLetter: async () => {},
    });
    dispatcher.dispatchBatch([record('ffff0001', 0), record('ffff0002', 1), record('ffff0003', 2)]);
    await until(() => signals.length === 1, 'the first record running');
    dispatcher.revoke('t', 0);
    expect(signals[0]?.aborted).toBe(true);
    await until(() => dispatcher.load === 0, 'the revoked records gone');
    expect(commits).toEqual([]);
    await dispatcher.drain(100);
    expect(dispatcher.dispatchBatch([record('ffff0004', 3)])).toBe(false);
  });

  it('waits out a transient failure on its clock, doubling the wait, and gives the record up when revoked', async () => {
    const clock = new FakeClock();
    let attempts = 0;
    const outcomes: string[] = [];
    const dispatcher = new Dispatcher({
      capacity: 1,
      log,
      clock,
      retry: { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 250 },
      handle: async () => {
        attempts += 1;
        throw new Error('database is locked');
      },
      commit: () => {},
      deadLetter: async () => {},
      observer: { started: () => {}, failed: () => {}, finished: (_r, _s, outcome) => outcomes.push(outcome) },
      classify: () => 'transient',
    });
    dispatcher.dispatch(record('gggg0001', 0));
    await clock.whenSleeping();
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([100]);
    await clock.advance(100);
    await clock.whenSleeping();
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([200]);
    await clock.advance(200);
    await clock.whenSleeping();
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([250]);
    expect(attempts).toBe(3);
    dispatcher.revoke('t', 0);
    await until(() => outcomes.length === 1, 'the record given up');
    expect(outcomes).toEqual(['abandoned']);
    expect(clock.sleeping).toEqual([]);
    await dispatcher.drain(100);
  });

  it('waits its grace period on its clock when stopping, then aborts what still runs', async () => {
    const clock = new FakeClock();
    const signals: AbortSignal[] = [];
    const dispatcher = new Dispatcher({
      capacity: 1,
      log,
      clock,
      handle: (_item, signal) =>
        new Promise<void>((_resolve, reject) => {
          signals.push(signal);
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
      commit: () => {},
      deadLetter: async () => {},
    });
    dispatcher.dispatch(record('hhhh0001', 0));
    await until(() => signals.length === 1, 'the record running');
    const drained = dispatcher.drain(5_000);
    await clock.whenSleeping();
    expect(signals[0]?.aborted).toBe(false);
    await clock.advance(5_000);
    await drained;
    expect(signals[0]?.aborted).toBe(true);
  });
});

describe('dispatcher: revoke', () => {
  it('tells the position reached before a revoke at once, so it is committed while the partition is still ours', async () => {
    const commits: string[] = [];
    const dispatcher = new Dispatcher({
      capacity: 4,
      log,
      handle: async () => {},
      commit: (_topic, _partition, next) => commits.push(next),
      deadLetter: async () => {},
    });
    dispatcher.dispatchBatch([record('iiii0001', 0), record('iiii0002', 1)]);
    // Both finish within this turn (microtasks only); their position would be told at its end.
    for (let hops = 0; hops < 100 && dispatcher.load > 0; hops += 1) await Promise.resolve();
    expect(dispatcher.load).toBe(0);
    expect(commits).toEqual([]);
    dispatcher.revoke('t', 0);
    expect(commits).toEqual(['2']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(commits).toEqual(['2']);
    await dispatcher.drain(100);
  });

  it('aborts only the revoked partition’s work, and a record’s signal stays whole while others of its partition finish', async () => {
    const running = new Map<string, { signal: AbortSignal; release: () => void }>();
    const outcomes: string[] = [];
    const dispatcher = new Dispatcher({
      capacity: 8,
      log,
      handle: (item, signal) =>
        new Promise<void>((resolve, reject) => {
          running.set(`${item.partition}:${item.offset}`, { signal, release: resolve });
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
      commit: () => {},
      deadLetter: async () => {},
      observer: {
        started: () => {},
        failed: () => {},
        finished: (item, _seconds, outcome) => outcomes.push(`${item.partition}:${item.offset} ${outcome}`),
      },
    });
    dispatcher.dispatchBatch([record('jjjj0001', 0, 0), record('jjjj0002', 1, 0)]);
    dispatcher.dispatchBatch([record('jjjj0003', 0, 1)]);
    await until(() => running.size === 3, 'all three running');
    running.get('0:0')?.release();
    await until(() => outcomes.length === 1, 'the first record handled');
    expect(running.get('0:1')?.signal.aborted).toBe(false);
    dispatcher.revoke('t', 0);
    expect(running.get('0:1')?.signal.aborted).toBe(true);
    expect(running.get('1:0')?.signal.aborted).toBe(false);
    await until(() => outcomes.length === 2, 'the revoked record given up');
    // The partition comes back: its new records get a signal of their own, not the revoked one.
    dispatcher.dispatchBatch([record('jjjj0004', 2, 0)]);
    await until(() => running.has('0:2'), 'the reassigned partition’s record running');
    expect(running.get('0:2')?.signal.aborted).toBe(false);
    running.get('0:2')?.release();
    running.get('1:0')?.release();
    await until(() => outcomes.length === 4, 'the rest handled');
    expect(outcomes).toEqual(['0:0 handled', '0:1 abandoned', '0:2 handled', '1:0 handled']);
    await dispatcher.drain(100);
  });

  it('drops work whose output is refused at publish time because its partition was revoked: not retried, dead-lettered or committed (issue 20)', async () => {
    const clock = new FakeClock();
    const outcomes: string[] = [];
    const commits: string[] = [];
    const deadLetters: string[] = [];
    let attempts = 0;
    const dispatcher = new Dispatcher({
      capacity: 4,
      clock,
      log,
      handle: async (_item, signal) => {
        attempts += 1;
        // The oven's timer: not on the signal, as one that fired just before the revoke.
        await clock.sleep(500);
        // The publish's gate, as the Kafka bus checks it: the partition must still be ours.
        signal.throwIfAborted();
      },
      commit: (_topic, partition, nextOffset) => commits.push(`${partition}:${nextOffset}`),
      deadLetter: async (item) => {
        deadLetters.push(item.offset);
      },
      observer: {
        started: () => {},
        failed: () => {},
        finished: (item, _seconds, outcome) => outcomes.push(`${item.partition}:${item.offset} ${outcome}`),
      },
    });
    dispatcher.dispatch(record('cccc0001', 0, 0));
    dispatcher.dispatch(record('cccc0002', 0, 1));
    await clock.whenSleeping(2);
    dispatcher.revoke('t', 0);
    await clock.advance(500);
    await until(() => outcomes.length === 2, 'both records over');
    expect(outcomes.sort()).toEqual(['0:0 abandoned', '1:0 handled']);
    expect(attempts).toBe(2);
    expect(deadLetters).toEqual([]);
    await until(() => commits.length === 1, 'the kept partition committed');
    expect(commits).toEqual(['1:1']);
    await dispatcher.drain(100);
  });

  it('hands the dead-letter publish the record’s signal, so a revoked partition’s letter is not sent', async () => {
    const signals: AbortSignal[] = [];
    const dispatcher = new Dispatcher({
      capacity: 4,
      log,
      classify: () => 'bad-event',
      handle: async () => {
        throw new Error('not an order');
      },
      commit: () => {},
      deadLetter: async (_item, _reason, _error, signal) => {
        signals.push(signal);
      },
    });
    dispatcher.dispatch(record('dddd0001', 3));
    await until(() => signals.length === 1, 'the dead letter');
    expect(signals[0]?.aborted).toBe(false);
    dispatcher.revoke('t', 0);
    expect(signals[0]?.aborted).toBe(true);
    await dispatcher.drain(100);
  });

  it('at-least-once, commits what a revoked partition had already sent, instead of leaving it for the next owner to redo (issue 20)', async () => {
    const clock = new FakeClock();
    const commits: string[] = [];
    const outcomes: string[] = [];
    let deliver!: () => void;
    const delivered = new Promise<void>((resolve) => {
      deliver = resolve;
    });
    const dispatcher = new Dispatcher({
      capacity: 4,
      clock,
      log,
      handle: async (item, signal) => {
        // Offset 0's output is on its way (its delivery report pending); offset 1 is in the oven.
        if (item.offset === '0') return delivered;
        await clock.sleep(10_000, signal);
      },
      commit: (_topic, partition, nextOffset) => commits.push(`${partition}:${nextOffset}`),
      deadLetter: async () => {},
      observer: {
        started: () => {},
        failed: () => {},
        finished: (item, _seconds, outcome) => outcomes.push(`${item.offset} ${outcome}`),
      },
    });
    dispatcher.dispatchBatch([record('eeee0001', 0), record('eeee0002', 1)]);
    await clock.whenSleeping(1);
    dispatcher.revoke('t', 0, { settle: true });
    const settling = dispatcher.settleRevoked('t', 0, 1_000);
    deliver();
    await settling;
    expect(outcomes.sort()).toEqual(['0 handled', '1 abandoned']);
    expect(commits).toEqual(['0:1']);
    // Once settled, the old epoch's work is no longer told.
    await dispatcher.drain(100);
    expect(commits).toEqual(['0:1']);
  });

  /** A dispatcher whose one record's work waits until the test calls `deliver`. */
  function heldWork(clock?: FakeClock) {
    const commits: string[] = [];
    let deliver!: () => void;
    const delivered = new Promise<void>((resolve) => {
      deliver = resolve;
    });
    let started = false;
    const dispatcher = new Dispatcher({
      capacity: 4,
      ...(clock ? { clock } : {}),
      log,
      handle: async () => {
        started = true;
        await delivered;
      },
      commit: (_topic, partition, nextOffset) => commits.push(`${partition}:${nextOffset}`),
      deadLetter: async () => {},
    });
    return { dispatcher, commits, deliver, started: () => started };
  }

  it('gives up waiting for a revoked partition’s send after its bound, and tells nothing of it', async () => {
    const clock = new FakeClock();
    const { dispatcher, commits, deliver, started } = heldWork(clock);
    dispatcher.dispatch(record('ffff0001', 0));
    await until(started, 'the send under way');
    dispatcher.revoke('t', 0, { settle: true });
    const settling = dispatcher.settleRevoked('t', 0, 1_000);
    await clock.advance(1_000);
    await settling;
    deliver();
    await dispatcher.drain(100);
    expect(commits).toEqual([]);
  });

  it('without settle (exactly-once), a revoked partition’s late finish is never told', async () => {
    const { dispatcher, commits, deliver, started } = heldWork();
    dispatcher.dispatch(record('abab0001', 0));
    await until(started, 'the work under way');
    dispatcher.revoke('t', 0);
    await dispatcher.settleRevoked('t', 0, 1_000);
    deliver();
    await dispatcher.drain(100);
    expect(commits).toEqual([]);
  });
});
