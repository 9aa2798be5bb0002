import { describe, expect, it } from 'vitest';
import {
  assembledEventSchema,
  decodeEvent,
  InvalidEventError,
  orderedEventSchema,
  orderIdFromKey,
} from '../../src/domain/events.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

describe('events: checked against the workshop domain before any work', () => {
  it('takes an order id only from a key of 8 to 32 lowercase hex bytes', () => {
    expect(orderIdFromKey(Buffer.from('0a1b2c3d'))).toBe('0a1b2c3d');
    expect(orderIdFromKey(Buffer.from('0a1b2c3d4e5f'))).toBe('0a1b2c3d4e5f');
    const odd = [
      null,
      Buffer.alloc(0),
      Buffer.from('🍕🍕'),
      Buffer.from('0A1B2C3D'),
      Buffer.from('0a1b2c3'),
      Buffer.from('a'.repeat(33)),
      Buffer.from('0a1b2c3g'),
      Buffer.alloc(10_240, 'a'),
      // Invalid UTF-8 that would decode to U+FFFD, which a string check could let through.
      Buffer.from([0x30, 0x61, 0x31, 0x62, 0x32, 0x63, 0x33, 0xff]),
    ];
    for (const key of odd) expect(() => orderIdFromKey(key), String(key)).toThrow(InvalidEventError);
  });

  it("refuses baking times outside the recipe's 8 to 15 seconds, which would hold an oven for weeks", () => {
    const assembled = (bakingTime: number) => json({ status: 200, baking_time: bakingTime, timestamp: 1 });
    expect(decodeEvent(assembledEventSchema, assembled(8)).baking_time).toBe(8);
    expect(decodeEvent(assembledEventSchema, assembled(15)).baking_time).toBe(15);
    for (const bad of [3e7, -1, 7, 16]) {
      expect(() => decodeEvent(assembledEventSchema, assembled(bad))).toThrow(/baking_time/);
    }
  });

  it('refuses an order whose customer id is not 32 hex characters', () => {
    const ordered = (customerId: string) =>
      json({
        status: 100,
        timestamp: 1,
        order: {
          extra_toppings: [],
          sauce: 'Pesto',
          cheese: 'Gouda',
          main_topping: 'Pork',
          customer_id: customerId,
          username: 'ann',
        },
      });
    expect(decodeEvent(orderedEventSchema, ordered('a'.repeat(32))).order.customer_id).toBe('a'.repeat(32));
    expect(() => decodeEvent(orderedEventSchema, ordered('f'.repeat(1000)))).toThrow(/customer_id/);
  });

  it('refuses values that are not the JSON, such as a Schema Registry wire-format prefix', () => {
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), json({ status: 300, timestamp: 1 })]);
    expect(() => decodeEvent(assembledEventSchema, framed)).toThrow(InvalidEventError);
    expect(() => decodeEvent(assembledEventSchema, Buffer.from('not json'))).toThrow(/not JSON/);
  });
});
