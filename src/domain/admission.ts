/**
 * Order admission's arithmetic: how fast the kitchen gets through orders, how
 * long a new order waits behind those already waiting, and when the backlog is
 * too long to take one more. The web app counts the backlog from its own view
 * and asks here; nothing here knows where the numbers come from.
 */
import { ASSEMBLING_SECONDS, BAKING_SECONDS, DELIVERY_SECONDS } from './timings.js';

/** Orders each stage works on at once. */
export interface KitchenCapacity {
  assemble: number;
  bake: number;
  deliver: number;
}

/** The mean of a range of whole seconds that the recipe's seed spreads evenly. */
function meanSeconds(range: { min: number; max: number }): number {
  return (range.min + range.max) / 2;
}

/**
 * Orders per simulated second the slowest stage finishes. Each stage works on
 * its capacity at once, each order taking the stage's mean time: with the
 * defaults (8, 8, 16) the oven is the slowest, 8 / 11.5 s, about 0.7 an order a second.
 */
export function kitchenRate(capacity: KitchenCapacity): number {
  return Math.min(
    capacity.assemble / meanSeconds(ASSEMBLING_SECONDS),
    capacity.bake / meanSeconds(BAKING_SECONDS),
    capacity.deliver / meanSeconds(DELIVERY_SECONDS),
  );
}

/**
 * Simulated seconds an order waits for a place in the kitchen with `ahead`
 * orders before it: none while a place is free, then one slot of the slowest
 * stage for each order beyond the places.
 */
export function queueSeconds(ahead: number, capacity: KitchenCapacity): number {
  const places = Math.min(capacity.assemble, capacity.bake);
  return Math.max(0, ahead - places + 1) / kitchenRate(capacity);
}

export type KitchenAdmission = { admitted: true } | { admitted: false; retryAfterSeconds: number };

/**
 * Whether one more order may join `waiting` orders when `max` is the most the
 * kitchen takes; if not, the real seconds until the backlog is below `max`
 * again (at least 1, as a Retry-After header says it).
 */
export function admitOrder(
  waiting: number,
  max: number,
  capacity: KitchenCapacity,
  timeScale: number,
): KitchenAdmission {
  if (waiting < max) return { admitted: true };
  const drainSeconds = ((waiting - max + 1) / kitchenRate(capacity)) * timeScale;
  return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil(drainSeconds)) };
}
