import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { PartitionOffset, PartitionRef } from '../../../../src/adapters/bus/bus.js';
import { partitionKey } from '../../../../src/adapters/kafka/group/partitions.js';
import { ExactlyOnceRestart, type ExactlyOnceRestartOptions } from '../../../../src/adapters/kafka/group/restart.js';
import { FakeClock } from '../../../support/fake-clock.js';

const log = pino({ level: 'silent' });
const p = (partition: number): PartitionRef => ({ topic: 't', partition });

function restartOf(overrides: Partial<ExactlyOnceRestartOptions> = {}) {
  const clock = new FakeClock();
  const ownership = { owned: [p(0), p(1)], rebalances: 4 };
  const seeks: PartitionOffset[] = [];
  const discarded: PartitionRef[][] = [];
  const settles: PartitionRef[][] = [];
  let resumes = 0;
  const restart = new ExactlyOnceRestart({
    clock,
    log,
    ownership: {
      ownedPartitions: () => ownership.owned,
      get rebalances() {
        return ownership.rebalances;
      },
    },
    committed: async () => [{ ...p(0), offset: '10' }],
    settleAfterMs: 25_000,
    settle: async (partitions) => {
      settles.push(partitions);
    },
    discard: (partitions) => discarded.push(partitions),
    seek: (position) => seeks.push(position),
    resume: () => {
      resumes += 1;
    },
    stopping: () => false,
    ...overrides,
  });
  return { clock, restart, ownership, seeks, discarded, settles, resumes: () => resumes };
}

describe('exactly-once restart', () => {
  it('drops the work at once, then reads again from the committed offsets (the start where there is none)', async () => {
    const { restart, seeks, discarded, resumes } = restartOf();
    const starting = restart.startOver();
    expect(discarded).toEqual([[p(0), p(1)]]);
    expect(restart.isRestarting(partitionKey('t', 0))).toBe(true);
    await starting;
    expect(seeks).toEqual([
      { ...p(0), offset: '10' },
      { ...p(1), offset: '-2' },
    ]);
    expect(restart.isRestarting(partitionKey('t', 0))).toBe(false);
    expect(resumes()).toBe(1);
  });

  it('hands over the committed offsets, with the records done past them, before it reads from them', async () => {
    const heard: Array<{ partitions: PartitionRef[]; committed: unknown[] }> = [];
    const { restart, seeks } = restartOf({
      committed: async () => [{ ...p(0), offset: '10', done: ['12'] }],
      restored: (partitions, committed) =>
        heard.push({ partitions, committed: [...committed, `seeks: ${seeks.length}`] }),
    });
    await restart.startOver();
    expect(heard).toEqual([
      { partitions: [p(0), p(1)], committed: [{ ...p(0), offset: '10', done: ['12'] }, 'seeks: 0'] },
    ]);
  });

  it('starts where the subscriber’s restore says, over the committed offsets', async () => {
    const { restart, seeks } = restartOf({ prepare: async () => [{ ...p(0), offset: '7' }] });
    await restart.startOver();
    expect(seeks[0]).toEqual({ ...p(0), offset: '7' });
  });

  it('retries with back-off on its clock while the restore fails', async () => {
    let attempts = 0;
    const { clock, restart, seeks } = restartOf({
      prepare: async () => {
        attempts += 1;
        if (attempts < 3) throw new Error('database is locked');
        return undefined;
      },
    });
    const starting = restart.startOver();
    await clock.whenSleeping();
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([500]);
    await clock.advance(500);
    await clock.whenSleeping();
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([1_000]);
    await clock.advance(1_000);
    await starting;
    expect(attempts).toBe(3);
    expect(seeks).toHaveLength(2);
  });

  it('gives up when a rebalance makes it moot: the new assignment starts from the committed offsets by itself', async () => {
    const { clock, restart, ownership, seeks } = restartOf({
      prepare: async () => {
        throw new Error('database is locked');
      },
    });
    const starting = restart.startOver();
    await clock.whenSleeping();
    ownership.rebalances += 1;
    await clock.advance(500);
    await starting;
    expect(seeks).toEqual([]);
    expect(clock.sleeping).toEqual([]);
  });

  it('waits for unsettled offsets, and ends what a broker left open once they stay unsettled too long', async () => {
    let settledYet = false;
    const { clock, restart, settles } = restartOf({
      settleAfterMs: 3_000,
      committed: async () => {
        if (!settledYet) throw new Error('the committed offset of t[0] is not settled yet');
        return [];
      },
      settle: async (partitions) => {
        settles.push(partitions);
        settledYet = true;
      },
    });
    const positions = restart.settledPositions([p(0)], 4);
    // 250 + 500 + 1,000 + 2,000 ms of waiting: past the 3 s, the next failure settles.
    for (const wait of [250, 500, 1_000, 2_000]) {
      await clock.whenSleeping();
      expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([wait]);
      expect(settles).toEqual([]);
      await clock.advance(wait);
    }
    await clock.whenSleeping();
    expect(settles).toEqual([[p(0)]]);
    await clock.advance(2_000);
    expect(await positions).toEqual([]);
  });
});
