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
  /** A note for the driver ("ring twice"); absent when the customer typed none. */
  deliveryNote?: string;
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

/**
 * The most UTF-16 units a name may take: 16 of the longest common emoji (a
 * couple with skin tones is 12). Graphemes alone would let one "character"
 * carry hundreds of combining marks.
 */
export const USERNAME_MAX_UNITS = 192;

// Stateless, like a regex: one segmenter for every name.
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
/** Emoji joined by zero-width joiners (a technologist with a skin tone, the rainbow flag), each with an optional skin tone or emoji presentation. */
const EMOJI_ZWJ_SEQUENCE =
  /^\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|\uFE0F)?(?:\u200D\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|\uFE0F)?)+$/u;
/** A flag spelled in tag characters (the flag of Scotland): a black flag, tag letters, a cancel tag. */
const EMOJI_TAG_SEQUENCE = /^\p{Extended_Pictographic}[\u{E0020}-\u{E007E}]+\u{E007F}$/u;
/** Control and format characters: bidi overrides, zero-width spaces and joiners, tags. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}]/u;

/** A name's characters as a person counts them. */
export function nameCharacters(name: string): string[] {
  return [...graphemes.segment(name)].map((part) => part.segment);
}

/** Printable: no control or format character, but for the joiners and tags inside an emoji sequence. */
function isPrintable(character: string): boolean {
  return !UNPRINTABLE.test(character) || EMOJI_ZWJ_SEQUENCE.test(character) || EMOJI_TAG_SEQUENCE.test(character);
}

const TOO_LONG = `Use at most ${USERNAME_MAX_LENGTH} characters.`;

/** A customer's name: 1 to 16 characters as a person counts them (graphemes: a pizza emoji is one, and so is a family). */
export const usernameSchema = z
  .string()
  .trim()
  .min(1, 'Enter a name.')
  .max(USERNAME_MAX_UNITS, TOO_LONG)
  .refine((name) => nameCharacters(name).length <= USERNAME_MAX_LENGTH, TOO_LONG)
  // Printable characters only: no control characters in logs or headers, no text turned around by bidi overrides.
  .refine((name) => nameCharacters(name).every(isPrintable), 'Use printable characters only.');

export const DELIVERY_NOTE_MAX_LENGTH = 80;
/** As for names: 80 of the longest common emoji, so combining marks cannot stretch one "character" without end. */
export const DELIVERY_NOTE_MAX_UNITS = DELIVERY_NOTE_MAX_LENGTH * 12;
const NOTE_TOO_LONG = `Keep the note for the driver to ${DELIVERY_NOTE_MAX_LENGTH} characters.`;

/**
 * A note for the driver: optional, up to 80 characters as a person counts
 * them, printable only (it goes into deliver's log line and onto the order
 * page). Blank reads as no note, so an order without one stays as it was.
 */
export const deliveryNoteSchema = z
  .string()
  .trim()
  .max(DELIVERY_NOTE_MAX_UNITS, NOTE_TOO_LONG)
  .refine((note) => nameCharacters(note).length <= DELIVERY_NOTE_MAX_LENGTH, NOTE_TOO_LONG)
  .refine(
    (note) => nameCharacters(note).every(isPrintable),
    'Use printable characters only in the note for the driver.',
  )
  .transform((note) => (note === '' ? undefined : note));

/** Builds the validator for a pizza choice against the configured menu. */
export function pizzaChoiceSchema(menu: Menu) {
  const oneOf = (items: readonly string[], what: string) =>
    // A field sent twice (a tampered page, a script) arrives as a list.
    z
      .string({ error: (issue) => (Array.isArray(issue.input) ? `Choose one ${what}.` : `Choose a ${what}.`) })
      .refine((value) => items.includes(value), {
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
