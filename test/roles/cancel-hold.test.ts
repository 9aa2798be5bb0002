import { describe, expect, it } from 'vitest';
import { CancelRegistry } from '../../src/roles/cancels.js';

function registry(): CancelRegistry {
  return new CancelRegistry({ role: 'bake', windowMs: 60_000, now: () => 0 });
}

describe('a hold on an order', () => {
  it('aborts when the bus takes the record back, which is not a cancel', () => {
    const bus = new AbortController();
    const hold = registry().hold('0000aaaa', 'baking', bus.signal);
    bus.abort(new Error('revoked'));
    expect(hold.signal.aborted).toBe(true);
    expect(hold.cancelled()).toBe(false);
    expect(hold.release()).toBe(true);
  });

  it('aborts on the order’s cancel, and says so', async () => {
    const cancels = registry();
    const bus = new AbortController();
    const hold = cancels.hold('0000bbbb', 'baking', bus.signal);
    await cancels.learn('0000bbbb', 0);
    expect(hold.signal.aborted).toBe(true);
    expect(hold.cancelled()).toBe(true);
    expect(hold.release()).toBe(false);
    expect(bus.signal.aborted).toBe(false);
  });

  it('stops listening to the bus’s signal once released: one signal serves a whole partition', () => {
    const cancels = registry();
    const bus = new AbortController();
    const released = Array.from({ length: 50 }, (_, index) => {
      const hold = cancels.hold(`0000c${String(index).padStart(3, '0')}`, 'baking', bus.signal);
      hold.release();
      return hold;
    });
    const held = cancels.hold('0000dddd', 'baking', bus.signal);
    bus.abort(new Error('revoked'));
    expect(released.some((hold) => hold.signal.aborted)).toBe(false);
    expect(held.signal.aborted).toBe(true);
  });
});
