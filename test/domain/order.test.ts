import { describe, expect, it } from 'vitest';
import {
  nameCharacters,
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

  it('counts a name in characters as a person sees them (graphemes), not in UTF-16 units (issue 21)', () => {
    const pizza = '\u{1F355}';
    // 9 pizzas are 18 UTF-16 units, and 9 characters: allowed. 16 are the limit, 17 are not.
    expect(pizza.repeat(9)).toHaveLength(18);
    expect(nameCharacters(pizza.repeat(9))).toHaveLength(9);
    expect(usernameSchema.safeParse(pizza.repeat(16)).success).toBe(true);
    expect(usernameSchema.safeParse(pizza.repeat(17)).error?.issues[0]?.message).toBe('Use at most 16 characters.');
    // A family of four is one character of 11 units; 16 of them still fit.
    const family = ['\u{1F468}', '\u{1F469}', '\u{1F467}', '\u{1F466}'].join('\u200D');
    expect(nameCharacters(family)).toHaveLength(1);
    expect(usernameSchema.safeParse(family.repeat(16)).success).toBe(true);
    expect(usernameSchema.safeParse(family.repeat(17)).success).toBe(false);
    // One "character" may not hide a hundred combining marks.
    expect(nameCharacters(`e${'\u0301'.repeat(200)}`)).toHaveLength(1);
    expect(usernameSchema.safeParse(`e${'\u0301'.repeat(200)}`).error?.issues[0]?.message).toBe(
      'Use at most 16 characters.',
    );
    expect(usernameSchema.safeParse('Zo\u00EB Am\u00E9lie').success).toBe(true);
  });

  it('allows emoji joined with zero-width joiners, and refuses bidi overrides and other format characters', () => {
    const technologist = '\u{1F469}\u{1F3FD}\u200D\u{1F4BB}';
    const rainbowFlag = '\u{1F3F3}\uFE0F\u200D\u{1F308}';
    const scotland = '\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}';
    for (const name of [`Ada ${technologist}`, rainbowFlag, `${scotland} fan`]) {
      expect(usernameSchema.safeParse(name).success, name).toBe(true);
    }
    for (const name of [
      'evil\u202Egnp.exe', // right-to-left override
      'a\u2066b\u2069', // isolates
      'Ada\u200D', // a joiner joining nothing
      'A\u200Bda', // zero-width space
      'A\uFEFFda', // a byte-order mark inside (trim takes one at either end)
      'Ada\u{E0041}', // a tag outside a flag
      'bad\u0000name',
    ]) {
      expect(usernameSchema.safeParse(name).error?.issues[0]?.message, JSON.stringify(name)).toBe(
        'Use printable characters only.',
      );
    }
  });

  it("asks for one sauce when a form sends two, in the shop's words", () => {
    const twice = schema.safeParse({ ...valid, sauce: ['Pesto', 'Tomato'] });
    expect(twice.error?.issues[0]?.message).toBe('Choose one sauce.');
    expect(schema.safeParse({ ...valid, cheese: undefined }).error?.issues[0]?.message).toBe('Choose a cheese.');
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
