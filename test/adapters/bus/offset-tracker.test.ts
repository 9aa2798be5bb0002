import { describe, expect, it } from 'vitest';
import { OffsetTracker } from '../../../src/adapters/bus/offset-tracker.js';

describe('OffsetTracker', () => {
  it('commits only up to the first unfinished offset of a partition', () => {
    const tracker = new OffsetTracker();
    for (const offset of ['10', '11', '12']) tracker.start('t', 0, offset);
    expect(tracker.finish('t', 0, '12')).toBeUndefined();
    expect(tracker.finish('t', 0, '11')).toBeUndefined();
    expect(tracker.finish('t', 0, '10')).toBe('13');
    expect(tracker.inFlight()).toBe(0);
  });

  it('keeps partitions apart', () => {
    const tracker = new OffsetTracker();
    tracker.start('t', 0, '5');
    tracker.start('t', 1, '7');
    expect(tracker.finish('t', 1, '7')).toBe('8');
    expect(tracker.inFlight()).toBe(1);
  });

  it('forgets a revoked partition, so late finishes commit nothing', () => {
    const tracker = new OffsetTracker();
    tracker.start('t', 0, '1');
    tracker.forget('t', 0);
    expect(tracker.finish('t', 0, '1')).toBeUndefined();
  });

  it('handles offsets beyond 2^53', () => {
    const tracker = new OffsetTracker();
    tracker.start('t', 0, '9007199254740993');
    expect(tracker.finish('t', 0, '9007199254740993')).toBe('9007199254740994');
  });

  it('starts a batch of a partition at once, and commits across it in order', () => {
    const tracker = new OffsetTracker();
    tracker.startBatch('t', 0, ['20', '21', '22']);
    tracker.start('t', 0, '23');
    expect(tracker.finish('t', 0, '21')).toBeUndefined();
    expect(tracker.finish('t', 0, '20')).toBe('22');
    expect(tracker.inFlight()).toBe(2);
    expect(tracker.finish('t', 0, '23')).toBeUndefined();
    expect(tracker.finish('t', 0, '22')).toBe('24');
    expect(tracker.inFlight()).toBe(0);
  });

  it('keeps committing in order across thousands of records, the committed ones dropped on the way', () => {
    const tracker = new OffsetTracker();
    const offsets = Array.from({ length: 3_000 }, (_, index) => String(index));
    tracker.startBatch('t', 0, offsets);
    for (let offset = 0; offset < 2_999; offset += 1)
      expect(tracker.finish('t', 0, String(offset))).toBe(String(offset + 1));
    expect(tracker.inFlight()).toBe(1);
    expect(tracker.finish('t', 0, '2999')).toBe('3000');
  });
});
