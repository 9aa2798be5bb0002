import { describe, expect, it } from 'vitest';
import {
  decodeCompleted,
  encodeCompleted,
  fitCompleted,
  MAX_COMPLETED_METADATA,
} from '../../../src/adapters/kafka/completed-offsets.js';

const offsets = (...values: number[]) => values.map(BigInt);

describe('offsets done past the committed one, in the commit metadata', () => {
  it('round-trips sparse, dense and far sets relative to the committed offset', () => {
    const base = 1_000_000_000_000n;
    const sets = [
      offsets(),
      [base + 1n],
      [base, base + 1n, base + 2n, base + 9n],
      Array.from({ length: 500 }, (_, index) => base + BigInt(index * 3 + 1)),
      Array.from({ length: 2_000 }, (_, index) => base + 5n + BigInt(index)),
      [base + 100_000n, base + 3_000_000n],
    ];
    for (const set of sets) {
      const metadata = encodeCompleted(base, set);
      expect(decodeCompleted(base, metadata)).toEqual(set);
    }
  });

  it('picks the shorter encoding: run lengths for runs and far offsets, a bitset for scattered near ones', () => {
    expect(encodeCompleted(10n, offsets(12, 13, 14, 15, 16, 17, 18, 19, 20))).toMatch(/^r1:/);
    expect(encodeCompleted(10n, offsets(10_000_000))).toMatch(/^r1:/);
    const scattered = Array.from({ length: 200 }, (_, index) => BigInt(index * 2 + 1));
    expect(encodeCompleted(0n, scattered)).toMatch(/^b1:/);
    expect(encodeCompleted(0n, scattered).length).toBeLessThan(80);
  });

  it('names nothing for no offsets, offsets before the committed one, or metadata not of ours', () => {
    expect(encodeCompleted(5n, offsets(1, 2, 4))).toBe('');
    expect(decodeCompleted(5n, '')).toEqual([]);
    expect(decodeCompleted(5n, null)).toEqual([]);
    expect(decodeCompleted(5n, 'done:5,7')).toEqual([]);
    // Run lengths cut off mid-varint: naming nothing is safe, the records are worked on again.
    expect(decodeCompleted(5n, `r1:${Buffer.from([0x81]).toString('base64url')}`)).toEqual([]);
    // A run of a billion records is no commit of ours: it names nothing rather than filling the memory.
    expect(
      decodeCompleted(5n, `r1:${Buffer.from([0x00, 0x80, 0x94, 0xeb, 0xdc, 0x03]).toString('base64url')}`),
    ).toEqual([]);
  });

  it('stays under the broker cap: the lowest new offsets that fit are named, the rest wait', () => {
    // Every other offset over 40,000: a bitset of 5,000 bytes, far past 4,000 characters in base64.
    const candidates = Array.from({ length: 20_000 }, (_, index) => BigInt(index * 2 + 1));
    const fitted = fitCompleted(0n, [], candidates);
    expect(fitted.metadata.length).toBeLessThanOrEqual(MAX_COMPLETED_METADATA);
    expect(fitted.included.length).toBeGreaterThan(10_000);
    expect(fitted.included.length).toBeLessThan(candidates.length);
    expect(fitted.included).toEqual(candidates.slice(0, fitted.included.length));
    expect(decodeCompleted(0n, fitted.metadata)).toEqual(fitted.included);
  });

  it('always keeps the offsets an earlier transaction named, whatever fits of the new ones', () => {
    const committed = offsets(3, 7);
    const fitted = fitCompleted(0n, committed, offsets(9, 400, 800), 12);
    expect(fitted.included).toEqual(offsets(9));
    expect(decodeCompleted(0n, fitted.metadata)).toEqual(offsets(3, 7, 9));
    // Nothing new fits: the earlier ones are still named (a crash must not redo them).
    const none = fitCompleted(0n, committed, offsets(100_000), 4);
    expect(none.included).toEqual([]);
    expect(decodeCompleted(0n, none.metadata)).toEqual(offsets(3, 7));
  });
});
