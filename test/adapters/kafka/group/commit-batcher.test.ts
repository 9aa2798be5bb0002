import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { PartitionOffset } from '../../../../src/adapters/bus/bus.js';
import { CommitBatcher } from '../../../../src/adapters/kafka/group/commit-batcher.js';
import { partitionKey } from '../../../../src/adapters/kafka/group/partitions.js';
import { FakeClock } from '../../../support/fake-clock.js';

const log = pino({ level: 'silent' });
const at = (partition: number, offset: number): PartitionOffset => ({ topic: 't', partition, offset: String(offset) });

function batcher(options: { owned?: Set<string>; send?: (positions: PartitionOffset[]) => Promise<void> } = {}) {
  const clock = new FakeClock();
  const sent: PartitionOffset[][] = [];
  const owned = options.owned ?? new Set([partitionKey('t', 0), partitionKey('t', 1)]);
  const commits = new CommitBatcher({
    clock,
    intervalMs: 100,
    log,
    owns: (key) => owned.has(key),
    stopping: () => false,
    send:
      options.send ??
      (async (positions) => {
        sent.push(positions);
      }),
  });
  return { clock, sent, owned, commits };
}

describe('commit batcher', () => {
  it('coalesces the positions gathered within the interval into one commit, the latest of each partition', async () => {
    const { clock, sent, commits } = batcher();
    commits.add(at(0, 5));
    commits.add(at(0, 8));
    commits.add(at(1, 3));
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([100]);
    await clock.advance(99);
    expect(sent).toEqual([]);
    await clock.advance(1);
    expect(sent).toEqual([[at(0, 8), at(1, 3)]]);
    expect(clock.sleeping).toEqual([]);
  });

  it('keeps one commit in flight: the next waits for it, so commits never land out of order', async () => {
    const releases: Array<() => void> = [];
    const sent: PartitionOffset[][] = [];
    const { clock, commits } = batcher({
      send: (positions) =>
        new Promise<void>((resolve) => {
          sent.push(positions);
          releases.push(resolve);
        }),
    });
    commits.add(at(0, 5));
    await clock.advance(100);
    expect(sent).toHaveLength(1);
    commits.add(at(0, 9));
    await clock.advance(100);
    // Due, but the first commit is still under way.
    expect(sent).toHaveLength(1);
    releases.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([[at(0, 5)], [at(0, 9)]]);
    releases.shift()?.();
    await commits.flush();
  });

  it('puts back a failed commit’s positions that are still ours and not superseded, and tries again', async () => {
    let failures = 1;
    const sent: PartitionOffset[][] = [];
    const owned = new Set([partitionKey('t', 0), partitionKey('t', 1), partitionKey('t', 2)]);
    const { clock, commits } = batcher({
      owned,
      send: async (positions) => {
        sent.push(positions);
        if (failures-- > 0) {
          // While it fails: partition 1 moves on, partition 2 is revoked.
          commits.add(at(1, 20));
          owned.delete(partitionKey('t', 2));
          throw new Error('Broker: Request timed out');
        }
      },
    });
    commits.add(at(0, 5));
    commits.add(at(1, 10));
    commits.add(at(2, 7));
    await clock.advance(100);
    expect(sent).toEqual([[at(0, 5), at(1, 10), at(2, 7)]]);
    await clock.advance(100);
    expect(sent[1]).toEqual([at(1, 20), at(0, 5)]);
  });

  it('flushes only the partitions asked for, and drops what is dropped', async () => {
    const { sent, commits } = batcher();
    commits.add(at(0, 5));
    commits.add(at(1, 6));
    await commits.flush(new Set([partitionKey('t', 1)]));
    expect(sent).toEqual([[at(1, 6)]]);
    commits.drop([partitionKey('t', 0)]);
    await commits.flush();
    expect(sent).toEqual([[at(1, 6)]]);
    expect(commits.waiting).toBe(0);
  });
});
