import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { BusRecord } from '../../../../src/adapters/bus/bus.js';
import {
  type ClientMessage,
  ConsumeLoop,
  type ConsumeLoopOptions,
  PausedPartitions,
  recordHeaders,
} from '../../../../src/adapters/kafka/group/consume-loop.js';
import { partitionKey } from '../../../../src/adapters/kafka/group/partitions.js';
import { FakeClock } from '../../../support/fake-clock.js';

const log = pino({ level: 'silent' });

const message = (offset: number, key = `k${offset}`): ClientMessage => ({
  key: Buffer.from(key),
  value: Buffer.from('{}'),
  offset: String(offset),
  timestamp: '1700000000000',
  headers: { 'pizza-role': Buffer.from('bake') },
});

function loopOf(overrides: Partial<ConsumeLoopOptions> & { room?: boolean } = {}) {
  const clock = new FakeClock();
  const batches: BusRecord[][] = [];
  const fetchCalls: string[] = [];
  const fetching = new PausedPartitions(
    {
      pause: (topics) => fetchCalls.push(`pause ${topics[0]?.topic}[${topics[0]?.partitions}]`),
      resume: (topics) => fetchCalls.push(`resume ${topics[0]?.topic}[${topics[0]?.partitions}]`),
    },
    log,
    () => false,
  );
  const owned = new Set([partitionKey('t', 0)]);
  const loop = new ConsumeLoop({
    sink: {
      dispatchBatch: (records) => {
        batches.push([...records]);
        return true;
      },
      hasRoom: () => overrides.room ?? true,
    },
    fetching,
    owns: (key) => owned.has(key),
    restarting: () => false,
    stopping: () => false,
    exactlyOnce: false,
    clock,
    ...overrides,
  });
  return { clock, loop, batches, fetchCalls, fetching };
}

function batchOf(partition: number, offsets: number[]) {
  const resolved: string[] = [];
  return {
    resolved,
    payload: {
      batch: { topic: 't', partition, messages: offsets.map((offset) => message(offset)) },
      resolveOffset: (offset: string) => resolved.push(offset),
    },
  };
}

describe('consume loop', () => {
  it('hands an owned partition’s batch to the dispatcher in one call, as records, and marks it consumed', async () => {
    const { loop, batches } = loopOf();
    const { payload, resolved } = batchOf(0, [4, 5, 6]);
    await loop.eachBatch(payload);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.map((record) => record.offset)).toEqual(['4', '5', '6']);
    expect(batches[0]?.[0]).toMatchObject({ topic: 't', partition: 0, key: 'k4', timestamp: 1700000000000 });
    expect(batches[0]?.[0]?.headers['pizza-role']?.toString()).toBe('bake');
    expect(resolved).toEqual(['6']);
  });

  it('at-least-once: leaves a batch of a partition not ours unresolved, so the client reads it again', async () => {
    const { loop, batches } = loopOf();
    const { payload, resolved } = batchOf(1, [1, 2]);
    await loop.eachBatch(payload);
    expect(batches).toEqual([]);
    expect(resolved).toEqual([]);
  });

  it('exactly-once: consumes without working a batch of a partition not ours, or one being started over', async () => {
    const { loop, batches } = loopOf({ exactlyOnce: true, restarting: (key) => key === partitionKey('t', 0) });
    for (const partition of [0, 1]) {
      const { payload, resolved } = batchOf(partition, [7, 8]);
      await loop.eachBatch(payload);
      expect(resolved).toEqual(['8']);
    }
    expect(batches).toEqual([]);
  });

  it('pauses the partition when the dispatcher is full, after marking the batch consumed, and resumes it on room', async () => {
    const { loop, fetchCalls, fetching } = loopOf({ room: false });
    const { payload, resolved } = batchOf(0, [1]);
    await loop.eachBatch(payload);
    expect(resolved).toEqual(['1']);
    expect(fetchCalls).toEqual(['pause t[0]']);
    fetching.resumeAll();
    expect(fetchCalls).toEqual(['pause t[0]', 'resume t[0]']);
  });

  it('holds the next pull for as long as the pacer says, on its clock, and not at all when it says 0', async () => {
    const asked: Array<[number, number]> = [];
    let hold = 5;
    const { clock, loop } = loopOf({
      pacer: {
        afterBatch: (records, now) => {
          asked.push([records, now]);
          return hold;
        },
      },
    });
    let done = false;
    const held = loop.eachBatch(batchOf(0, [1, 2, 3]).payload).then(() => {
      done = true;
    });
    await clock.whenSleeping();
    expect(asked).toEqual([[3, clock.now()]]);
    expect(done).toBe(false);
    await clock.advance(5);
    await held;
    hold = 0;
    await clock.withoutSleeping(() => loop.eachBatch(batchOf(0, [4]).payload));
  });

  it('reads header values given as strings or repeated, the last one winning', () => {
    const headers = recordHeaders({ a: 'text', b: [Buffer.from('1'), Buffer.from('2')], c: undefined });
    expect(headers.a?.toString()).toBe('text');
    expect(headers.b?.toString()).toBe('2');
    expect('c' in headers).toBe(false);
  });
});
