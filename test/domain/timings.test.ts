import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assemblingSeconds, bakingSeconds, deliverySeconds, recipeSeed, scaledMs } from '../../src/domain/timings.js';

const recipe = {
  sauce: 'Tomato',
  cheese: 'Mozzarella',
  mainTopping: 'Pepperoni',
  extraToppings: ['Mushroom', 'Onion'],
};

describe('timings', () => {
  it('seeds from the last 4 hex digits of the MD5 of sauce@cheese@extras@main', () => {
    const digest = createHash('md5').update('Tomato@Mozzarella@Mushroom,Onion@Pepperoni').digest('hex');
    expect(recipeSeed(recipe)).toBe(Number.parseInt(digest.slice(-4), 16));
  });

  it('assembles in seed % 8 + 4 and bakes in seed % 8 + 8 seconds', () => {
    const seed = recipeSeed(recipe);
    expect(assemblingSeconds(recipe)).toBe((seed % 8) + 4);
    expect(bakingSeconds(recipe)).toBe((seed % 8) + 8);
  });

  it('keeps every recipe within the workshop ranges', () => {
    for (const extras of [[], ['Egg'], ['Ham', 'Egg', 'Onion']]) {
      const r = { ...recipe, extraToppings: extras };
      expect(assemblingSeconds(r)).toBeGreaterThanOrEqual(4);
      expect(assemblingSeconds(r)).toBeLessThanOrEqual(11);
      expect(bakingSeconds(r)).toBeGreaterThanOrEqual(8);
      expect(bakingSeconds(r)).toBeLessThanOrEqual(15);
    }
  });

  it('delivers in factor × (customer id % 10 + 5) seconds, exactly for a 128-bit id', () => {
    const customerId = 'ffffffffffffffffffffffffffffffff';
    const expected = Number(BigInt(`0x${customerId}`) % 10n) + 5;
    expect(deliverySeconds(customerId, 1)).toBe(expected);
    expect(deliverySeconds(customerId, 2)).toBe(expected * 2);
    expect(deliverySeconds('0000000000000000000000000000000a', 1)).toBe(5);
  });

  it('scales simulated seconds: 1 is real time, 0 is instant', () => {
    expect(scaledMs(12, 1)).toBe(12_000);
    expect(scaledMs(12, 0.1)).toBe(1_200);
    expect(scaledMs(12, 0)).toBe(0);
  });
});
