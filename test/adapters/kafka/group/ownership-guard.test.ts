import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { BusRecord } from '../../../../src/adapters/bus/bus.js';
import { Dispatcher } from '../../../../src/adapters/bus/dispatcher.js';
import type { KafkaConsumer } from '../../../../src/adapters/kafka/client.js';
import {
  confirmByCommit,
  OwnershipGuard,
  type OwnershipGuardOptions,
} from '../../../../src/adapters/kafka/group/ownership-guard.js';
import { partitionKey } from '../../../../src/adapters/kafka/group/partitions.js';
import { behindGate, currentGate } from '../../../../src/adapters/kafka/transaction-context.js';
import { type OutgoingMessage, TurnProducer } from '../../../../src/adapters/kafka/turn-producer.js';
import { FakeClock } from '../../../support/fake-clock.js';

const log = pino({ level: 'silent' });
const SESSION_MS = 6_000;
const HEARTBEAT_MS = 1_500;

/** A guard on a fake clock whose group answers what `answers` says, in order (the last one repeats). */
function guarded(answers: Array<boolean | undefined> = [true], overrides: Partial<OwnershipGuardOptions> = {}) {
  const clock = new FakeClock();
  let asked = 0;
  const guard = new OwnershipGuard({
    clock,
    log,
    maxGapMs: SESSION_MS - HEARTBEAT_MS,
    tickMs: 1_000,
    unaskableHoldMs: SESSION_MS,
    confirm: async () => {
      asked += 1;
      return answers[Math.min(asked, answers.length) - 1];
    },
    ...overrides,
  });
  return { clock, guard, asked: () => asked };
}

/** The gate's answer as a promise: resolved at once when it let the output go without one. */
const pass = (guard: OwnershipGuard, signal: AbortSignal): Promise<void> => guard.pass(signal) ?? Promise.resolve();

/** Settles whether `promise` is still pending after its continuations ran. */
async function state(promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let result: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => {
      result = 'resolved';
    },
    () => {
      result = 'rejected';
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return result;
}

describe('the output gate (issue 20: a paused process still publishes)', () => {
  it('lets outputs go at once while the process runs without a gap', async () => {
    const { clock, guard, asked } = guarded();
    guard.start();
    await clock.advance(3_000);
    // Not even a promise: the common case costs a publish nothing.
    expect(guard.pass(new AbortController().signal)).toBeUndefined();
    expect(guard.holding).toBe(false);
    expect(asked()).toBe(0);
    guard.stop();
  });

  it('drops the output of work whose partition was revoked, with the revoke as the reason', async () => {
    const { guard } = guarded();
    const epoch = new AbortController();
    epoch.abort(new Error('t[0] was revoked'));
    await expect(pass(guard, epoch.signal)).rejects.toThrow('t[0] was revoked');
  });

  it('a revoke while an output waits drops it', async () => {
    const { clock, guard } = guarded([false]);
    await clock.jump(20_000);
    const epoch = new AbortController();
    const passing = pass(guard, epoch.signal);
    expect(await state(passing)).toBe('pending');
    epoch.abort(new Error('t[0] was revoked'));
    await expect(passing).rejects.toThrow('t[0] was revoked');
  });
});

describe('the gap detector', () => {
  it('holds outputs after a gap longer than the session could outlive, until a commit in its generation goes through', async () => {
    const group: { says: boolean | Error; asked: number } = { says: false, asked: 0 };
    const asked = () => group.asked;
    const { clock, guard } = guarded([], {
      confirm: async () => {
        group.asked += 1;
        if (group.says instanceof Error) throw group.says;
        return group.says;
      },
    });
    guard.start();
    // A pizza in the oven, due before the guard's next tick: on resuming, its timer fires first.
    let passing: Promise<void> | undefined;
    const oven = clock.sleep(500).then(() => {
      passing = pass(guard, new AbortController().signal);
    });
    await clock.jump(20_000);
    await oven;
    if (!passing) throw new Error('the oven never fired');
    expect(await state(passing)).toBe('pending');
    expect(guard.holding).toBe(true);
    expect(asked()).toBeGreaterThan(0);
    // The group refuses the commit (an expired member): asked again on each tick, outputs still held.
    group.says = new Error('Broker: Unknown member');
    const before = asked();
    await clock.advance(2_000);
    expect(asked()).toBe(before + 2);
    expect(await state(passing)).toBe('pending');
    group.says = true;
    await clock.advance(1_000);
    expect(await state(passing)).toBe('resolved');
    expect(guard.holding).toBe(false);
    guard.stop();
  });

  it('notices the gap on its tick even when nothing is published, and holds what comes next', async () => {
    const { clock, guard } = guarded([false]);
    guard.start();
    await clock.jump(20_000);
    expect(guard.holding).toBe(true);
    expect(await state(pass(guard, new AbortController().signal))).toBe('pending');
    guard.stop();
  });

  it('a gap shorter than session minus heartbeat holds nothing', async () => {
    const { clock, guard, asked } = guarded([false]);
    guard.start();
    await clock.jump(SESSION_MS - HEARTBEAT_MS);
    expect(guard.pass(new AbortController().signal)).toBeUndefined();
    expect(asked()).toBe(0);
    guard.stop();
  });

  it('a new assignment ends the hold: what the member owns is known again', async () => {
    const { clock, guard } = guarded([false]);
    await clock.jump(20_000);
    const kept = new AbortController();
    const passing = pass(guard, kept.signal);
    expect(await state(passing)).toBe('pending');
    guard.assigned();
    await expect(passing).resolves.toBeUndefined();
  });

  it('with nothing to ask with (no commit yet), ends the hold after a session timeout without a rebalance', async () => {
    const { clock, guard } = guarded([undefined]);
    guard.start();
    await clock.jump(20_000);
    const passing = pass(guard, new AbortController().signal);
    await clock.advance(SESSION_MS - 1_000);
    expect(await state(passing)).toBe('pending');
    await clock.advance(1_000);
    await expect(passing).resolves.toBeUndefined();
    guard.stop();
  });

  it('stopping ends the ticks but not the hold: the stop hands the work back, it is not let go', async () => {
    const { clock, guard, asked } = guarded([false]);
    guard.start();
    await clock.jump(20_000);
    const epoch = new AbortController();
    const passing = pass(guard, epoch.signal);
    guard.stop();
    const before = asked();
    await clock.advance(10_000);
    expect(asked()).toBe(before);
    expect(await state(passing)).toBe('pending');
    epoch.abort(new Error('the consumer is stopping'));
    await expect(passing).rejects.toThrow('the consumer is stopping');
  });
});

/**
 * The at-least-once output path as the Kafka subscription wires it, with only
 * the client faked: the Dispatcher runs each record behind the guard's gate,
 * and publish passes the gate then queues on the turn producer, as the Kafka
 * bus's publish does.
 */
function outputPath(confirm: () => Promise<boolean | undefined>) {
  const clock = new FakeClock();
  const sent: string[] = [];
  const turns = new TurnProducer({
    send: (_topic, messages: readonly OutgoingMessage[]) =>
      messages.map((message) => {
        sent.push(String(message.key));
        return Promise.resolve({ topic: 'baked', partition: 0, offset: String(sent.length) });
      }),
  });
  const publish = async (key: string) => {
    const gate = currentGate();
    await gate?.pass();
    return turns.publish('baked', { key, value: null }, gate?.signal);
  };
  const guard = new OwnershipGuard({
    clock,
    log,
    maxGapMs: SESSION_MS - HEARTBEAT_MS,
    tickMs: 1_000,
    unaskableHoldMs: SESSION_MS,
    confirm,
  });
  const outcomes: string[] = [];
  const dispatcher = new Dispatcher({
    capacity: 8,
    clock,
    log,
    // A bake: the oven, then the pizza.
    handle: (record, signal) =>
      behindGate(guard.gate(signal), async () => {
        await clock.sleep(700, signal);
        await publish(record.key ?? '');
      }),
    commit: () => {},
    deadLetter: async () => {},
    observer: {
      started: () => {},
      failed: () => {},
      finished: (record, _seconds, outcome) => outcomes.push(`${record.key} ${outcome}`),
    },
  });
  const bake = (key: string, partition: number): BusRecord => ({
    topic: 'assembled',
    partition,
    offset: '0',
    key,
    keyBytes: Buffer.from(key),
    value: null,
    timestamp: 0,
    headers: {},
  });
  return { clock, guard, dispatcher, sent, outcomes, bake };
}

describe('a hung bake instance, resumed (issue 20)', () => {
  it('publishes nothing for the partitions the group moved while it hung', async () => {
    const group = { owns: true };
    const { clock, guard, dispatcher, sent, outcomes, bake } = outputPath(async () => group.owns);
    guard.start();
    dispatcher.dispatch(bake('aaaa0001', 0));
    dispatcher.dispatch(bake('aaaa0002', 1));
    await clock.whenSleeping(3);
    // SIGSTOP for 20 s: the session expired and the survivor took both partitions.
    group.owns = false;
    await clock.jump(20_000);
    // The ovens' timers fired on resuming, before the client told of the revoke: held, not sent.
    expect(guard.holding).toBe(true);
    expect(sent).toEqual([]);
    // Then the client's lost-assignment revoke.
    dispatcher.revoke('assembled', 0);
    dispatcher.revoke('assembled', 1);
    await vi.waitFor(() => expect(outcomes).toHaveLength(2));
    expect(outcomes.sort()).toEqual(['aaaa0001 abandoned', 'aaaa0002 abandoned']);
    // It rejoins and gets a partition back: new work goes out as before.
    guard.assigned();
    dispatcher.dispatch(bake('aaaa0003', 0));
    await clock.advance(700);
    await vi.waitFor(() => expect(sent).toEqual(['aaaa0003']));
    guard.stop();
    await dispatcher.drain(100);
  });

  it('lets the held pizzas go when the group confirms the partitions are still its own', async () => {
    const group = { owns: false };
    const { clock, guard, dispatcher, sent, bake } = outputPath(async () => group.owns);
    guard.start();
    dispatcher.dispatch(bake('bbbb0001', 0));
    await clock.whenSleeping(2);
    await clock.jump(SESSION_MS);
    expect(sent).toEqual([]);
    group.owns = true;
    await clock.advance(1_000);
    await vi.waitFor(() => expect(sent).toEqual(['bbbb0001']));
    guard.stop();
    await dispatcher.drain(100);
  });
});

/** A consumer as the probe uses it: what it committed, and what the client says of its assignment. */
function probeConsumer(stored: Array<{ topic: string; partition: number; offset: string }> = []) {
  const state = { lost: false, commits: [] as unknown[], onCommit: () => {} };
  const consumer = {
    committed: async () => stored,
    commitOffsets: async (positions: unknown) => {
      state.commits.push(positions);
      state.onCommit();
    },
    _getInternalClient: () => ({ assignmentLost: () => state.lost }),
  } as unknown as KafkaConsumer;
  return { consumer, state };
}

describe('asking the group by a commit', () => {
  const owned = [{ topic: 't', partition: 0 }];

  it('commits again what it last committed, and says the partitions are still its own', async () => {
    const { consumer, state } = probeConsumer();
    const committing = new Map([[partitionKey('t', 0), { topic: 't', partition: 0, offset: '42' }]]);
    const ask = confirmByCommit({
      consumer: () => consumer,
      owned: () => owned,
      rebalances: () => 3,
      committing,
      stopping: () => false,
    });
    expect(await ask()).toBe(true);
    expect(state.commits).toEqual([[{ topic: 't', partition: 0, offset: '42' }]]);
  });

  it('does not count a commit during which a rebalance came, nor ask when the client lost its assignment', async () => {
    const { consumer, state } = probeConsumer([{ topic: 't', partition: 0, offset: '7' }]);
    let rebalances = 3;
    state.onCommit = () => {
      rebalances += 2;
    };
    const ask = confirmByCommit({
      consumer: () => consumer,
      owned: () => owned,
      rebalances: () => rebalances,
      committing: new Map(),
      stopping: () => false,
    });
    expect(await ask()).toBe(false);
    state.lost = true;
    expect(await ask()).toBe(false);
    expect(state.commits).toHaveLength(1);
  });

  it('has nothing to ask with when the group never committed these partitions', async () => {
    const { consumer, state } = probeConsumer([{ topic: 't', partition: 0, offset: '-1001' }]);
    const ask = confirmByCommit({
      consumer: () => consumer,
      owned: () => owned,
      rebalances: () => 1,
      committing: new Map(),
      stopping: () => false,
    });
    expect(await ask()).toBeUndefined();
    expect(state.commits).toEqual([]);
  });
});
