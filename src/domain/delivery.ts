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

/** One input event as delivery saw it, for rebuilding its memory. */
export type DeliveryInput =
  | { orderId: string; kind: 'ordered'; customerId: string }
  | { orderId: string; kind: 'baked' };

/**
 * Delivery's memory, rebuilt from the input events it already acknowledged:
 * an order whose order and baked events were both acknowledged was delivered
 * (or announced pending, then delivered); an order event alone is an early
 * warning; a baked event alone is a pending pizza. The result does not depend
 * on the order the two topics are read in.
 */
export function replayDeliveries(inputs: Iterable<DeliveryInput>): Map<string, DeliveryRecord> {
  const seen = new Map<string, { customerId?: string; baked: boolean }>();
  for (const input of inputs) {
    const entry = seen.get(input.orderId) ?? { baked: false };
    if (input.kind === 'ordered') entry.customerId ??= input.customerId;
    else entry.baked = true;
    seen.set(input.orderId, entry);
  }
  const memory = new Map<string, DeliveryRecord>();
  for (const [orderId, { customerId, baked }] of seen) {
    if (customerId !== undefined && baked) memory.set(orderId, { state: 'delivered', customerId });
    else if (customerId !== undefined) memory.set(orderId, { state: 'awaiting-pizza', customerId });
    else memory.set(orderId, { state: 'pending' });
  }
  return memory;
}
