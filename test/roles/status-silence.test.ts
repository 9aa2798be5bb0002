import { describe, expect, it } from 'vitest';
import { OrderStalls } from '../../src/roles/status-silence.js';

/** One watchdog look: the open orders with their change numbers, and which to flag after how long. */
function look(stalls: OrderStalls, now: number, open: Record<string, number>, stuckAfterMs = 45_000) {
  const unchanged: Record<string, number> = {};
  const flagged = stalls.sweep(now, (unchangedFor) =>
    Object.entries(open)
      .filter(([orderId, seq]) => {
        unchanged[orderId] = unchangedFor(orderId, seq);
        return (unchanged[orderId] as number) >= stuckAfterMs;
      })
      .map(([orderId]) => orderId),
  );
  return { unchanged, flagged };
}

describe("the watchdog's measure of an order standing still", () => {
  it('counts from its own first look at a change, on its own clock, whatever time the row was written at', () => {
    const stalls = new OrderStalls();
    // An order the web app placed by a clock 10 minutes off: the watchdog never sees that time at all.
    expect(look(stalls, 1_000, { a: 1 })).toEqual({ unchanged: { a: 0 }, flagged: [] });
    expect(look(stalls, 16_000, { a: 1 })).toEqual({ unchanged: { a: 15_000 }, flagged: [] });
    expect(look(stalls, 46_000, { a: 1 })).toEqual({ unchanged: { a: 45_000 }, flagged: ['a'] });
  });

  it('starts again when the order changes, and forgets orders that are flagged or no longer open', () => {
    const stalls = new OrderStalls();
    look(stalls, 0, { a: 1, b: 2, c: 3 });
    // a moved on; b completed (no longer open); c is flagged.
    expect(look(stalls, 45_000, { a: 4, c: 3 })).toEqual({ unchanged: { a: 0, c: 45_000 }, flagged: ['c'] });
    // Each comes back as new: b reopened by nothing the view does, c once a forward event replaced the flag.
    expect(look(stalls, 60_000, { a: 4, b: 2, c: 9 })).toEqual({
      unchanged: { a: 15_000, b: 0, c: 0 },
      flagged: [],
    });
  });

  it('keeps what it saw when a look fails (a full file), and measures from the first look still', () => {
    const stalls = new OrderStalls();
    look(stalls, 0, { a: 1 });
    expect(() =>
      stalls.sweep(30_000, () => {
        throw new Error('full');
      }),
    ).toThrow('full');
    expect(look(stalls, 45_000, { a: 1 }).flagged).toEqual(['a']);
  });
});
