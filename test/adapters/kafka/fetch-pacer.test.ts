import { describe, expect, it } from 'vitest';
import { FetchPacer } from '../../../src/adapters/kafka/fetch-pacer.js';

/** Feeds the pacer one record every `gapMs`, as a loop that pulls at once would see them; returns the holds. */
function steadyFlow(pacer: FetchPacer, start: number, gapMs: number, count: number): number[] {
  const holds: number[] = [];
  for (let i = 0; i < count; i += 1) holds.push(pacer.afterBatch(1, start + i * gapMs));
  return holds;
}

describe('FetchPacer', () => {
  it('never holds a quiet flow: a lone record, then 20 records a second', () => {
    const pacer = new FetchPacer();
    expect(pacer.afterBatch(1, 1_000)).toBe(0);
    expect(steadyFlow(pacer, 60_000, 50, 200)).toEqual(new Array(200).fill(0));
  });

  it('does not take two records that arrive together, once, for load', () => {
    const pacer = new FetchPacer();
    steadyFlow(pacer, 0, 500, 10);
    expect(pacer.afterBatch(2, 10_000)).toBe(0);
  });

  it('holds a loaded flow so pulls come at most every 5 ms, never longer than that', () => {
    const pacer = new FetchPacer();
    // 1,000 records a second, pulled as they come: once busy, each pull waits out the rest of its 5 ms.
    let now = 0;
    let pulls = 0;
    let longest = 0;
    let records = 0;
    while (now < 1_000) {
      // What arrived since the last pull (one per ms), handled at once.
      const batch = Math.max(1, Math.floor(now) - records);
      records += batch;
      const hold = pacer.afterBatch(batch, now);
      longest = Math.max(longest, hold);
      pulls += 1;
      now += Math.max(hold, 1);
    }
    expect(longest).toBeLessThanOrEqual(5);
    expect(longest).toBeGreaterThan(0);
    // A short unheld start of the burst, then 200 pulls a second.
    expect(pulls).toBeLessThanOrEqual(215);
    expect(pacer.rate(now)).toBeGreaterThan(900);
  });

  it('counts time spent on a batch towards the hold', () => {
    const pacer = new FetchPacer();
    steadyFlow(pacer, 0, 1, 100);
    // Released at 99 + hold; a batch handled 3 ms after that holds 2 more, one handled 6 ms after holds none.
    const released = 99 + pacer.afterBatch(1, 99);
    expect(pacer.afterBatch(3, released + 3)).toBe(2);
    expect(pacer.afterBatch(1, released + 5 + 6)).toBe(0);
  });

  it('returns to quiet soon after the load stops', () => {
    const pacer = new FetchPacer();
    const loaded = steadyFlow(pacer, 0, 1, 500);
    expect(loaded.slice(-10).some((hold) => hold > 0)).toBe(true);
    // A lone record 150 ms after the burst: the remembered rate has decayed below busy.
    expect(pacer.afterBatch(1, 500 + 150)).toBe(0);
    expect(steadyFlow(pacer, 1_000, 50, 20)).toEqual(new Array(20).fill(0));
  });

  it('takes its bounds from the options', () => {
    const pacer = new FetchPacer({ minPullIntervalMs: 2, busyRecordsPerSecond: 50, smoothingMs: 20 });
    const holds = steadyFlow(pacer, 0, 1, 100);
    expect(Math.max(...holds)).toBe(2);
    expect(pacer.afterBatch(1, 100 + 100)).toBe(0);
  });

  it('shares one interval among the partitions whose batches one fetch hands over', () => {
    const pacer = new FetchPacer();
    let now = 0;
    let cycles = 0;
    // Four partitions, a batch each per fetch, 1,000 records a second in all.
    while (now < 1_000) {
      for (const partition of ['0', '1', '2', '3']) now += pacer.afterBatch(2, now, partition);
      now += 0.5;
      cycles += 1;
    }
    // About one 5 ms interval per fetch once busy, not four.
    expect(cycles).toBeGreaterThan(170);
    expect(cycles).toBeLessThan(260);
  });
});
