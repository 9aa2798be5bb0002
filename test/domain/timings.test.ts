import { describe, expect, it } from 'vitest';
import { assemblingSeconds, bakingSeconds, deliverySeconds, recipeSeed, scaledMs } from '../../src/domain/timings.js';

/*
 * Expected values from the workshop's definitions (/work/shared/reference/workshop-contract.md,
 * "Timings"), worked out once in Python 3 with hashlib, apart from this project's code:
 *
 *   seed = int(hashlib.md5(f"{sauce}@{cheese}@{','.join(extras)}@{main}".encode()).hexdigest()[-4:], 16)
 *   assembling = seed % 8 + 4;  baking = seed % 8 + 8
 *   delivery = factor * (int(customer_id, 16) % 10 + 5)
 *
 * and written out here as numbers. The recipes cover every value of seed % 8.
 */
const RECIPES: ReadonlyArray<{
  sauce: string;
  cheese: string;
  extras: string[];
  main: string;
  seed: number;
  assembling: number;
  baking: number;
}> = [
  { sauce: 'Tomato', cheese: 'Mozzarella', extras: [], main: 'Pepperoni', seed: 48896, assembling: 4, baking: 8 },
  { sauce: 'Pesto', cheese: 'Gouda', extras: ['Onion', 'Egg'], main: 'Chicken', seed: 63225, assembling: 5, baking: 9 },
  {
    sauce: 'Hummus',
    cheese: 'Gruyere',
    extras: ['Mushroom', 'Onion', 'Egg', 'Ham', 'Black olives', 'Green pepper', 'Fresh garlic'],
    main: 'Minced meat',
    seed: 58082,
    assembling: 6,
    baking: 10,
  },
  { sauce: 'Tomato', cheese: 'Provolone', extras: [], main: 'Sausage', seed: 39659, assembling: 7, baking: 11 },
  {
    sauce: 'Tomato',
    cheese: 'Mozzarella',
    extras: ['Mushroom', 'Onion'],
    main: 'Pepperoni',
    seed: 33980,
    assembling: 8,
    baking: 12,
  },
  {
    sauce: 'Tomato',
    cheese: 'Mozzarella',
    extras: ['Mushroom'],
    main: 'Pepperoni',
    seed: 44900,
    assembling: 8,
    baking: 12,
  },
  { sauce: 'Tomato', cheese: 'Provolone', extras: ['Egg'], main: 'Pepperoni', seed: 26517, assembling: 9, baking: 13 },
  {
    sauce: 'Organic tomato',
    cheese: 'Ricotta',
    extras: ['Mushroom', 'Black olives'],
    main: 'Vegan meat',
    seed: 64702,
    assembling: 10,
    baking: 14,
  },
  { sauce: 'Marinara', cheese: 'Cheddar', extras: ['Ham'], main: 'Sausage', seed: 7263, assembling: 11, baking: 15 },
];

/** Customer ids (32 hex digits) and their delivery seconds at factor 1 and 2, from the same Python. */
const CUSTOMERS: ReadonlyArray<[customerId: string, normal: number, late: number]> = [
  ['00000000000000000000000000000000', 5, 10],
  ['0000000000000000000000000000000a', 5, 10],
  ['c4ca4238a0b923820dcc509a6f75849b', 6, 12],
  ['ffffffffffffffffffffffffffffffff', 10, 20],
  ['8f14e45fceea167a5a36dedd4bea2543', 10, 20],
  ['123456789abcdef0123456789abcdef7', 12, 24],
];

describe('timings, against values worked out from the workshop definitions', () => {
  it.each(RECIPES)(
    '$sauce@$cheese@$extras@$main: seed $seed, assembled in $assembling s, baked in $baking s',
    ({ sauce, cheese, extras, main, seed, assembling, baking }) => {
      const recipe = { sauce, cheese, mainTopping: main, extraToppings: extras };
      expect(recipeSeed(recipe)).toBe(seed);
      expect(assemblingSeconds(recipe)).toBe(assembling);
      expect(bakingSeconds(recipe)).toBe(baking);
    },
  );

  it('joins the extra toppings in the order given: another order is another recipe', () => {
    const recipe = { sauce: 'Pesto', cheese: 'Gouda', mainTopping: 'Chicken' };
    expect(recipeSeed({ ...recipe, extraToppings: ['Onion', 'Egg'] })).toBe(63225);
    expect(recipeSeed({ ...recipe, extraToppings: ['Egg', 'Onion'] })).toBe(26233);
  });

  it.each(CUSTOMERS)('delivers to customer %s in %i s, or %i s at factor 2', (customerId, normal, late) => {
    expect(deliverySeconds(customerId, 1)).toBe(normal);
    expect(deliverySeconds(customerId, 2)).toBe(late);
  });

  it('scales simulated seconds: 1 is real time, 0 is instant', () => {
    expect(scaledMs(12, 1)).toBe(12_000);
    expect(scaledMs(12, 0.1)).toBe(1_200);
    expect(scaledMs(12, 0)).toBe(0);
    expect(scaledMs(9, 0.25)).toBe(2_250);
  });
});
