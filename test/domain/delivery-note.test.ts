import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, orderedEvent, orderedEventSchema, orderFromEvent } from '../../src/domain/events.js';
import { DELIVERY_NOTE_MAX_LENGTH, deliveryNoteSchema, type Order } from '../../src/domain/order.js';

const order: Order = {
  orderId: '9c8d7e6f',
  customerId: 'a'.repeat(32),
  username: 'Ada',
  sauce: 'Pesto',
  cheese: 'Gouda',
  mainTopping: 'Chicken',
  extraToppings: ['Egg'],
};

describe('the note for the driver (optional, on pizza-ordered)', () => {
  it('accepts up to 80 characters as a person counts them, emoji included', () => {
    expect(deliveryNoteSchema.parse('ring twice')).toBe('ring twice');
    expect(deliveryNoteSchema.parse('  ring twice  ')).toBe('ring twice');
    expect(deliveryNoteSchema.parse('🍕'.repeat(DELIVERY_NOTE_MAX_LENGTH))).toBe('🍕'.repeat(DELIVERY_NOTE_MAX_LENGTH));
    expect(deliveryNoteSchema.parse('👩🏽‍💻 at the back door, 3rd floor')).toBe('👩🏽‍💻 at the back door, 3rd floor');
  });

  it('reads a blank note as no note', () => {
    expect(deliveryNoteSchema.parse('')).toBeUndefined();
    expect(deliveryNoteSchema.parse('   ')).toBeUndefined();
  });

  it.each([
    ['81 characters', 'a'.repeat(DELIVERY_NOTE_MAX_LENGTH + 1), /80 characters/],
    ['one letter with a thousand combining marks', `a${'\u0301'.repeat(1_000)}`, /80 characters/],
    ['a bidi override', 'ring \u202Etwice', /printable/],
    ['a control character', 'ring\u0007twice', /printable/],
    ['a new line', 'ring\ntwice', /printable/],
  ])('refuses %s, in the customer’s words', (_, note, message) => {
    const result = deliveryNoteSchema.safeParse(note);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(message);
  });

  it('leaves pizza-ordered byte for byte as it was when there is no note', () => {
    const bytes = encodeEvent(orderedEvent(order, 100, 1_700_000_000_000)).toString('utf8');
    expect(bytes).toBe(
      `{"status":100,"timestamp":1700000000000,"order":{"extra_toppings":["Egg"],"sauce":"Pesto","cheese":"Gouda","main_topping":"Chicken","customer_id":"${'a'.repeat(32)}","username":"Ada"}}`,
    );
    expect(orderFromEvent(order.orderId, decodeEvent(orderedEventSchema, Buffer.from(bytes)))).toEqual(order);
  });

  it('carries a note next to the name, and back into the order', () => {
    const noted = { ...order, deliveryNote: 'ring twice' };
    const event = orderedEvent(noted, 100, 1);
    expect(event.order).toMatchObject({ username: 'Ada', delivery_note: 'ring twice' });
    expect(orderFromEvent(order.orderId, decodeEvent(orderedEventSchema, encodeEvent(event)))).toEqual(noted);
  });

  it('reads a null note (another writer’s way of saying none) as no note', () => {
    const event = orderedEvent(order, 100, 1);
    const withNull = Buffer.from(JSON.stringify({ ...event, order: { ...event.order, delivery_note: null } }));
    expect(orderFromEvent(order.orderId, decodeEvent(orderedEventSchema, withNull))).toEqual(order);
  });

  it('refuses a note that is not text on the wire', () => {
    const event = { ...orderedEvent(order, 100, 1) };
    const bad = Buffer.from(JSON.stringify({ ...event, order: { ...event.order, delivery_note: 7 } }));
    expect(() => decodeEvent(orderedEventSchema, bad)).toThrow(/delivery_note/);
  });
});
