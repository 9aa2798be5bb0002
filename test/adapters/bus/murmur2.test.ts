import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from '../../../src/adapters/bus/murmur2.js';

describe('murmur2', () => {
  // The vectors Apache Kafka's own Java tests hold its murmur2 to.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %s as the Java client does', (text, expected) => {
    expect(murmur2(Buffer.from(text))).toBe(expected);
  });

  it('maps a key to a partition with the sign bit masked, never negative', () => {
    expect(partitionForKey('foobar', 7)).toBe((-790332482 & 0x7fffffff) % 7);
    for (let i = 0; i < 200; i += 1) {
      const partition = partitionForKey(`key-${i}`, 6);
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(6);
    }
  });
});
