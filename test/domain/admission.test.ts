import { describe, expect, it } from 'vitest';
import { admitOrder, kitchenRate, queueSeconds } from '../../src/domain/admission.js';

// The workshop's stage times: assembling 4-11 s (mean 7.5), baking 8-15 s (mean 11.5),
// delivery 5-14 s (mean 9.5); the shop's default capacities 8, 8 and 16.
const DEFAULTS = { assemble: 8, bake: 8, deliver: 16 };

describe('order admission arithmetic', () => {
  it('takes the slowest stage as the kitchen rate: the oven, 8 orders per 11.5 s', () => {
    expect(kitchenRate(DEFAULTS)).toBeCloseTo(8 / 11.5, 10);
    // Two assemblers at once are slower than the oven: 2 per 7.5 s.
    expect(kitchenRate({ ...DEFAULTS, assemble: 2 })).toBeCloseTo(2 / 7.5, 10);
    expect(kitchenRate({ ...DEFAULTS, deliver: 1 })).toBeCloseTo(1 / 9.5, 10);
  });

  it('has an order wait only when the places are taken: 1.4375 s per order beyond 8', () => {
    expect(queueSeconds(0, DEFAULTS)).toBe(0);
    expect(queueSeconds(7, DEFAULTS)).toBe(0);
    expect(queueSeconds(8, DEFAULTS)).toBeCloseTo(1.4375, 10);
    expect(queueSeconds(107, DEFAULTS)).toBeCloseTo(143.75, 10);
  });

  it('admits below the bound, and otherwise says when the backlog will be under it again', () => {
    expect(admitOrder(99, 100, DEFAULTS, 1)).toEqual({ admitted: true });
    expect(admitOrder(100, 100, DEFAULTS, 1)).toEqual({ admitted: false, retryAfterSeconds: 2 });
    // 51 orders over: 51 × 1.4375 = 73.3 s.
    expect(admitOrder(150, 100, DEFAULTS, 1)).toEqual({ admitted: false, retryAfterSeconds: 74 });
    // At a fast shop's time scale the wait is short, but a Retry-After is a whole second at least.
    expect(admitOrder(150, 100, DEFAULTS, 0.01)).toEqual({ admitted: false, retryAfterSeconds: 1 });
    expect(admitOrder(150, 100, DEFAULTS, 0)).toEqual({ admitted: false, retryAfterSeconds: 1 });
  });
});
