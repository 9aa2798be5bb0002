import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Menu } from './menu.js';

export const USERNAME_MAX_LENGTH = 16;

/** An order as the web app accepts it and `pizza-ordered` carries it. */
export interface Order {
  orderId: string;
  customerId: string;
  username: string;
  sauce: string;
  cheese: string;
  mainTopping: string;
  extraToppings: string[];
}

export type PizzaChoice = Pick<Order, 'sauce' | 'cheese' | 'mainTopping' | 'extraToppings'>;

/**
 * Order ids are the last 8 hex digits of a random UUID, as in the workshop.
 * 32 bits collide within a few tens of thousands of orders, so the caller says
 * which ids are taken and gets one that is not.
 */
export function newOrderId(isTaken: (orderId: string) => boolean = () => false, length = 8): string {
  for (;;) {
    const orderId = randomUUID().replaceAll('-', '').slice(-length);
    if (!isTaken(orderId)) return orderId;
  }
}

/** Customer ids are a random UUID's 32 hex digits. */
export function newCustomerId(): string {
  return randomUUID().replaceAll('-', '');
}

/** Order ids on the wire: 8 hex characters as the workshop issues them, or up to 32 (`order_id_length`). */
export const ORDER_ID_PATTERN = /^[0-9a-f]{8,32}$/;
export const CUSTOMER_ID_PATTERN = /^[0-9a-f]{32}$/;

export const usernameSchema = z
  .string()
  .trim()
  .min(1, 'Enter a name.')
  .max(USERNAME_MAX_LENGTH, `Use at most ${USERNAME_MAX_LENGTH} characters.`)
  // Printable characters only: no control characters in logs or headers.
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'Use printable characters only.');

/** Builds the validator for a pizza choice against the configured menu. */
export function pizzaChoiceSchema(menu: Menu) {
  const oneOf = (items: readonly string[], what: string) =>
    z.string({ error: `Choose a ${what}.` }).refine((value) => items.includes(value), {
      error: `Choose a ${what} from the menu.`,
    });
  return z.object({
    sauce: oneOf(menu.sauce, 'sauce'),
    cheese: oneOf(menu.cheese, 'cheese'),
    mainTopping: oneOf(menu.mainTopping, 'main topping'),
    extraToppings: z
      .array(z.string())
      .default([])
      .refine((extras) => extras.every((extra) => menu.extraToppings.includes(extra)), {
        error: 'Choose extra toppings from the menu.',
      })
      .refine((extras) => new Set(extras).size === extras.length, { error: 'Choose each extra topping once.' }),
  });
}
