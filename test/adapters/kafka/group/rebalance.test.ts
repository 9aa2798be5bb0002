import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { PartitionOffset, PartitionRef } from '../../../../src/adapters/bus/bus.js';
import { partitionKey } from '../../../../src/adapters/kafka/group/partitions.js';
import {
  ASSIGN_PARTITIONS,
  REVOKE_PARTITIONS,
  RebalanceHandler,
  type RebalanceHandlerOptions,
} from '../../../../src/adapters/kafka/group/rebalance.js';
import { FakeClock } from '../../../support/fake-clock.js';

const log = pino({ level: 'silent' });
const p = (partition: number): PartitionRef => ({ topic: 't', partition });

function handler(overrides: Partial<RebalanceHandlerOptions> = {}) {
  const clock = new FakeClock();
  const events: string[] = [];
  let joins = 0;
  const rebalance = new RebalanceHandler({
    clock,
    log,
    exactlyOnce: false,
    stopping: () => false,
    joined: () => {
      joins += 1;
    },
    assigned: (partitions) => events.push(`assigned ${partitions.map((tp) => tp.partition)}`),
    revoked: (partitions) => events.push(`revoked ${partitions.map((tp) => tp.partition)}`),
    flush: async (keys) => {
      events.push(`flush ${keys.size}`);
    },
    forget: (keys) => events.push(`forget ${keys.size}`),
    ...overrides,
  });
  return { clock, events, rebalance, joins: () => joins };
}

describe('rebalance handler', () => {
  it('owns assigned partitions, and says it joined', async () => {
    const { rebalance, events, joins } = handler();
    expect(await rebalance.onRebalance({ code: ASSIGN_PARTITIONS }, [p(0), p(1)])).toBeUndefined();
    expect(rebalance.owns(partitionKey('t', 1))).toBe(true);
    expect(rebalance.ownedPartitions()).toEqual([p(0), p(1)]);
    expect(events).toEqual(['assigned 0,1']);
    expect(joins()).toBe(1);
    expect(rebalance.rebalances).toBe(1);
  });

  it('drops revoked partitions at once, before the commit of what is done of them', async () => {
    let ownedDuringFlush: boolean | undefined;
    const { rebalance, events } = handler({
      flush: async () => {
        ownedDuringFlush = rebalance.owns(partitionKey('t', 0));
        events.push('flush');
      },
    });
    await rebalance.onRebalance({ code: ASSIGN_PARTITIONS }, [p(0), p(1)]);
    const revoking = rebalance.onRebalance({ code: REVOKE_PARTITIONS }, [p(0)]);
    // Synchronously, before the callback's first await.
    expect(rebalance.owns(partitionKey('t', 0))).toBe(false);
    expect(events.slice(0, 2)).toEqual(['assigned 0,1', 'revoked 0']);
    await revoking;
    expect(ownedDuringFlush).toBe(false);
    expect(events).toEqual(['assigned 0,1', 'revoked 0', 'flush', 'forget 1']);
    expect(rebalance.ownedPartitions()).toEqual([p(1)]);
  });

  it('exactly-once: commits nothing for a lost assignment (no generation left to commit in)', async () => {
    const { rebalance, events } = handler({ exactlyOnce: true });
    await rebalance.onRebalance({ code: ASSIGN_PARTITIONS }, [p(0)]);
    await rebalance.onRebalance({ code: REVOKE_PARTITIONS }, [p(0)], { assignmentLost: () => true });
    expect(events).toEqual(['assigned 0', 'revoked 0', 'forget 1']);
  });

  it('exactly-once: a transaction fence falls when its partition is lost, and stays down once it is assigned again', async () => {
    const { rebalance } = handler({ exactlyOnce: true });
    await rebalance.onRebalance({ code: ASSIGN_PARTITIONS }, [p(0), p(1)]);
    const fence = rebalance.fence([partitionKey('t', 0), partitionKey('t', 1)]);
    expect(fence()).toBe(true);
    await rebalance.onRebalance({ code: REVOKE_PARTITIONS }, [p(0), p(1)], { assignmentLost: () => true });
    expect(fence()).toBe(false);
    // The same partitions in the generation it rejoined in: records read before are read again.
    await rebalance.onRebalance({ code: ASSIGN_PARTITIONS }, [p(0), p(1)]);
    expect(fence()).toBe(false);
    expect(rebalance.fence([partitionKey('t', 0)])()).toBe(true);
  });

  it('a transaction fence holds while a revoke (not lost) commits what is done, and falls after', async () => {
    let heldDuringFlush: boolean | undefined;
    let fence: () => boolean = () => false;
    const { rebalance } = handler({
      exactlyOnce: true,
      flush: async () => {
        heldDuringFlush = fence();
      },
    });
    await rebalance.onRebalance({ code: ASSIGN_PARTITIONS }, [p(0)]);
    fence = rebalance.fence([partitionKey('t', 0)]);
    await rebalance.onRebalance({ code: REVOKE_PARTITIONS }, [p(0)], { assignmentLost: () => false });
    expect(heldDuringFlush).toBe(true);
    expect(fence()).toBe(false);
  });

  it('retries the restore of assigned partitions with back-off on its clock, and starts them where it says', async () => {
    let attempts = 0;
    const { clock, rebalance } = handler({
      prepare: async (partitions): Promise<PartitionOffset[]> => {
        attempts += 1;
        if (attempts < 3) throw new Error('database is locked');
        return [{ ...(partitions[1] as PartitionRef), offset: '42' }];
      },
    });
    const assigning = rebalance.onRebalance({ code: ASSIGN_PARTITIONS }, [p(0), p(1)]);
    await clock.whenSleeping();
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([500]);
    // Not ours until the restore is done: no record may arrive before its state.
    expect(rebalance.owns(partitionKey('t', 0))).toBe(false);
    await clock.advance(500);
    await clock.whenSleeping();
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([1_000]);
    await clock.advance(1_000);
    expect(await assigning).toEqual([p(0), { ...p(1), offset: 42 }]);
    expect(attempts).toBe(3);
    expect(rebalance.owns(partitionKey('t', 0))).toBe(true);
  });

  it('exactly-once: waits for the committed offsets to settle before taking the partitions', async () => {
    const settled: Array<{ partitions: PartitionRef[]; since: number }> = [];
    const { rebalance } = handler({
      exactlyOnce: true,
      settle: async (partitions, since) => {
        settled.push({ partitions, since });
      },
    });
    await rebalance.onRebalance({ code: ASSIGN_PARTITIONS }, [p(3)]);
    expect(settled).toEqual([{ partitions: [p(3)], since: 1 }]);
  });
});
