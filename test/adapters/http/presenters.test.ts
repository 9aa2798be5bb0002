import { describe, expect, it } from 'vitest';
import { estimate, flowCaption, logRows, scaledWait } from '../../../src/adapters/http/presenters.js';
import { testSettings } from '../../support/settings.js';

const line = (role: string, msg: string, fields: Record<string, unknown> = {}, level = 30) => ({
  time: 1_700_000_000_000,
  level,
  role,
  msg,
  orderId: '0000abcd',
  ...fields,
});

describe('log rows shown to customers', () => {
  it('say what happens in short sentences, in the shop’s time, without field names', () => {
    const rows = logRows(
      [
        line('assemble', 'assembling the pizza', { assemblingSeconds: 11, sauce: 'Pesto', cheese: 'Gouda' }),
        line('bake', 'baking the pizza', { bakingSeconds: 14 }),
        line('deliver', 'out for delivery', { deliverySeconds: 9, factor: 1 }),
        line('deliver', 'pizza delivered'),
      ],
      { timeScale: 0.25 },
    );
    expect(rows.map((row) => row.msg)).toEqual([
      'Assembling your pizza: about 3 s.',
      'Baking your pizza: about 4 s.',
      'On the way to you: about 2 s.',
      'Delivered. Enjoy your pizza!',
    ]);
    expect(JSON.stringify(rows)).not.toMatch(/Seconds|reqId|=/);
  });

  it('leave out the lines a customer has no use for', () => {
    const rows = logRows(
      [
        line('status', 'older or duplicate status ignored', { status: 200, topic: 'pizza-assembled' }),
        line('serve', 'incoming request', { reqId: 'req-1' }),
        line('bake', 'something for operators', { detail: 1 }, 20),
        line('status', 'status: Your pizza is in the oven', { status: 200, topic: 'pizza-assembled' }),
      ],
      { timeScale: 1 },
    );
    expect(rows.map((row) => row.msg)).toEqual(['Your pizza is in the oven.']);
  });

  it('turn warnings and errors into plain words, never a stack trace or a server path', () => {
    const rows = logRows(
      [
        line(
          'bake',
          'handler failed; retrying',
          {
            attempt: 2,
            err: { message: 'broker down', stack: 'Error: broker down\n    at /srv/pizza/dist/roles/bake.js:10:5' },
          },
          40,
        ),
        line('serve', 'could not publish the order; it was not placed', {}, 50),
      ],
      { timeScale: 1 },
    );
    expect(rows).toEqual([
      { time: '2023-11-14T22:13:20.000Z', level: 'warn', msg: 'A hiccup at this step; trying again.' },
      {
        time: '2023-11-14T22:13:20.000Z',
        level: 'error',
        msg: 'The kitchen could not be reached: the order was not placed.',
      },
    ]);
  });

  it('round waits for people', () => {
    expect(scaledWait(11, 0.25)).toBe('about 3 s');
    expect(scaledWait(3, 0.2)).toBe('a moment');
    expect(scaledWait(120, 1)).toBe('about 2 min');
    expect(scaledWait('11', 1)).toBe('a little while');
  });
});

describe('the order page', () => {
  it('estimates the time from the recipe’s timings and the time scale', () => {
    const { settings, cleanup } = testSettings({ timeScale: '0.25' });
    try {
      // Pesto@Gouda@Onion,Egg@Chicken: md5 ends in f6f9 (63225): assembling 63225 % 8 + 4 = 5 s, baking 9 s;
      // customer 0x…0b: 11 % 10 + 5 = 6 s of delivery. 20 s at a quarter of the workshop's pace.
      const result = estimate(settings, {
        sauce: 'Pesto',
        cheese: 'Gouda',
        mainTopping: 'Chicken',
        extraToppings: ['Onion', 'Egg'],
        customerId: '0000000000000000000000000000000b',
      });
      expect(result).toEqual({
        totalSeconds: 5,
        text: 'about 5 s',
        parts: 'assembling about 1 s, baking about 2 s, delivery about 2 s',
      });
    } finally {
      cleanup();
    }
  });

  it('names Kafka topics in the caption only on Kafka', () => {
    expect(flowCaption('kafka')).toBe('Each arrow is a Kafka topic.');
    expect(flowCaption('embedded')).not.toContain('Each arrow is a Kafka topic');
    expect(flowCaption('embedded')).toContain('in-process stand-in');
  });
});
