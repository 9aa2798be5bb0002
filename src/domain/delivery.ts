import type { DeliveryFactor } from './timings.js';

/**
 * What the delivery service knows about one order. It hears of an order twice,
 * from two topics whose relative order is not guaranteed: `pizza-ordered`
 * (the early warning: who the customer is) and `pizza-baked`.
 */
export type DeliveryRecord =
  | { state: 'awaiting-pizza'; customerId: string }
  | { state: 'pending' }
  | { state: 'delivered'; customerId: string | undefined };

export type DeliveryDecision =
  | { action: 'remember-customer'; customerId: string }
  | { action: 'deliver'; customerId: string; factor: DeliveryFactor }
  | { action: 'mark-pending' }
  | { action: 'ignore'; reason: string };

export function onOrderEvent(record: DeliveryRecord | undefined, customerId: string): DeliveryDecision {
  switch (record?.state) {
    case undefined:
      return { action: 'remember-customer', customerId };
    case 'awaiting-pizza':
      return { action: 'ignore', reason: 'customer already known' };
    case 'pending':
      // Baked before we knew the customer: the pizza waited, so it takes twice as long.
      return { action: 'deliver', customerId, factor: 2 };
    case 'delivered':
      return { action: 'ignore', reason: 'already delivered' };
  }
}

export function onBakedEvent(record: DeliveryRecord | undefined): DeliveryDecision {
  switch (record?.state) {
    case undefined:
      return { action: 'mark-pending' };
    case 'awaiting-pizza':
      return { action: 'deliver', customerId: record.customerId, factor: 1 };
    case 'pending':
      return { action: 'ignore', reason: 'already pending, waiting for the order' };
    case 'delivered':
      return { action: 'ignore', reason: 'already delivered' };
  }
}
