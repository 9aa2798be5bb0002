import { describe, expect, it } from 'vitest';
import {
  newCustomerId,
  newOrderId,
  ORDER_ID_PATTERN,
  pizzaChoiceSchema,
  usernameSchema,
} from '../../src/domain/order.js';
import { testSettings } from '../support/settings.js';

const { settings, cleanup } = testSettings();
cleanup();
const schema = pizzaChoiceSchema(settings.menu);
const valid = { sauce: 'Pesto', cheese: 'Gouda', mainTopping: 'Vegan meat', extraToppings: ['Egg', 'Ham'] };

describe('order validation against the menu', () => {
  it('accepts one sauce, one cheese, one main topping and any extras from the menu', () => {
    expect(schema.safeParse(valid).success).toBe(true);
    expect(schema.safeParse({ ...valid, extraToppings: [] }).success).toBe(true);
  });

  it.each([
    ['an unknown sauce', { ...valid, sauce: 'Ketchup' }],
    ['a missing cheese', { sauce: 'Pesto', mainTopping: 'Pork', extraToppings: [] }],
    ['an unknown extra', { ...valid, extraToppings: ['Pineapple'] }],
    ['an extra twice', { ...valid, extraToppings: ['Egg', 'Egg'] }],
  ])('rejects %s', (_, input) => {
    expect(schema.safeParse(input).success).toBe(false);
  });

  it('accepts usernames up to 16 characters, not longer, not blank', () => {
    expect(usernameSchema.safeParse('a'.repeat(16)).success).toBe(true);
    expect(usernameSchema.safeParse('a'.repeat(17)).success).toBe(false);
    expect(usernameSchema.safeParse('   ').success).toBe(false);
    expect(usernameSchema.safeParse('bad\u0000name').success).toBe(false);
  });

  it('makes ids in the workshop shape', () => {
    expect(newOrderId()).toMatch(ORDER_ID_PATTERN);
    expect(newCustomerId()).toMatch(/^[0-9a-f]{32}$/);
    expect(newOrderId()).not.toBe(newOrderId());
  });

  it('never hands out an order id that is already taken', () => {
    const taken = new Set<string>();
    let asked = 0;
    const orderId = newOrderId((candidate) => {
      asked += 1;
      // Pretend the first three candidates are taken.
      if (asked <= 3) taken.add(candidate);
      return taken.has(candidate);
    });
    expect(asked).toBe(4);
    expect(taken.has(orderId)).toBe(false);
  });
});
