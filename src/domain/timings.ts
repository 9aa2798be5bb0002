import { createHash } from 'node:crypto';

/** The parts of an order that decide how long the kitchen takes. */
export interface Recipe {
  sauce: string;
  cheese: string;
  mainTopping: string;
  extraToppings: readonly string[];
}

/** The workshop's seed: the last 4 hex digits of an MD5 of the recipe. */
export function recipeSeed(recipe: Recipe): number {
  const text = `${recipe.sauce}@${recipe.cheese}@${recipe.extraToppings.join(',')}@${recipe.mainTopping}`;
  return Number.parseInt(createHash('md5').update(text).digest('hex').slice(-4), 16);
}

/** The recipe's range of baking times, in simulated seconds (seed % 8 + 8); events outside it are bad. */
export const BAKING_SECONDS = { min: 8, max: 15 } as const;
/** The range of assembling times (seed % 8 + 4). */
export const ASSEMBLING_SECONDS = { min: 4, max: 11 } as const;
/** The range of delivery times at factor 1 (customer id % 10 + 5). */
export const DELIVERY_SECONDS = { min: 5, max: 14 } as const;

export function assemblingSeconds(recipe: Recipe): number {
  return (recipeSeed(recipe) % 8) + 4;
}

export function bakingSeconds(recipe: Recipe): number {
  return (recipeSeed(recipe) % 8) + 8;
}

/** 1 normally; 2 when the pizza was baked before delivery heard of the order. */
export type DeliveryFactor = 1 | 2;

export function deliverySeconds(customerId: string, factor: DeliveryFactor): number {
  // A customer id is 32 hex digits: too wide for a double, so use BigInt.
  const base = Number(BigInt(`0x${customerId}`) % 10n) + 5;
  return factor * base;
}

/** Simulated seconds to real milliseconds: scale 1 is the workshop's pace, 0 is instant. */
export function scaledMs(seconds: number, timeScale: number): number {
  return Math.round(seconds * 1000 * timeScale);
}
