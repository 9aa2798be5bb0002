import { describe, expect, it } from 'vitest';
import { onBakedEvent, onOrderEvent } from '../../src/domain/delivery.js';

const customerId = 'c'.repeat(32);

describe('delivery state machine', () => {
  it('remembers the customer from the early warning, then delivers normally when baked', () => {
    expect(onOrderEvent(undefined, customerId)).toEqual({ action: 'remember-customer', customerId });
    expect(onBakedEvent({ state: 'awaiting-pizza', customerId })).toEqual({ action: 'deliver', customerId, factor: 1 });
  });

  it('marks a pizza baked before its order as pending, then delivers it late (factor 2)', () => {
    expect(onBakedEvent(undefined)).toEqual({ action: 'mark-pending' });
    expect(onOrderEvent({ state: 'pending' }, customerId)).toEqual({ action: 'deliver', customerId, factor: 2 });
  });

  it('ignores repeats and anything after delivery', () => {
    expect(onOrderEvent({ state: 'awaiting-pizza', customerId }, customerId).action).toBe('ignore');
    expect(onBakedEvent({ state: 'pending' }).action).toBe('ignore');
    expect(onBakedEvent({ state: 'delivered', customerId }).action).toBe('ignore');
    expect(onOrderEvent({ state: 'delivered', customerId }, customerId).action).toBe('ignore');
  });
});
