import { z } from 'zod';
import { PizzaError, type PizzaErrorOptions } from '../errors.js';
import { ORDER_ID_PATTERN, type Order } from './order.js';
import { STATUS_ID_MAX } from './statuses.js';
import { BAKING_SECONDS } from './timings.js';

/**
 * The JSON on the wire, field for field as the workshop's Python services
 * write and read it. Keys are always the order id as UTF-8.
 *
 * Numbers are bounded by what the Avro contracts (contracts/*.avsc) carry, so an
 * event the domain accepts can always be written framed: a timestamp is a long (up
 * to the year 9999 here, inside avsc's safe range), a status id an int (32 bits).
 */
const MAX_EPOCH_MILLIS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const epochMillis = z.number().int().nonnegative().max(MAX_EPOCH_MILLIS, 'is past the year 9999');
const statusId = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(STATUS_ID_MAX, 'is not a status id (a 32-bit whole number)');

export const orderedEventSchema = z.object({
  status: statusId,
  timestamp: epochMillis,
  order: z.object({
    extra_toppings: z.array(z.string()),
    sauce: z.string(),
    cheese: z.string(),
    main_topping: z.string(),
    customer_id: z.string().regex(/^[0-9a-fA-F]{32}$/, 'is not a customer id (32 hex characters)'),
    username: z.string(),
    // Optional (issue 22's evolution): absent when the customer typed no note. Another writer's
    // null says the same; refusing it would dead-letter an order for want of a note.
    delivery_note: z
      .string()
      .nullable()
      .transform((note) => note ?? undefined)
      .optional(),
  }),
});
export type OrderedEvent = z.infer<typeof orderedEventSchema>;

export const assembledEventSchema = z.object({
  status: statusId,
  // The recipe's range: a value outside it would hold an oven for longer than any pizza takes.
  baking_time: z
    .number()
    .min(BAKING_SECONDS.min, `is shorter than any recipe (${BAKING_SECONDS.min} to ${BAKING_SECONDS.max} s)`)
    .max(BAKING_SECONDS.max, `is longer than any recipe (${BAKING_SECONDS.min} to ${BAKING_SECONDS.max} s)`),
  timestamp: epochMillis,
});
export type AssembledEvent = z.infer<typeof assembledEventSchema>;

/** baked, delivered and pending carry only a status and a timestamp. */
export const statusEventSchema = z.object({
  status: statusId,
  timestamp: epochMillis,
});
export type StatusEvent = z.infer<typeof statusEventSchema>;

/**
 * `pizza-cancel-requested`: a customer asks to cancel their order. The web app
 * checked that the order is theirs; `customer_id` is kept for the logs.
 */
export const cancelRequestSchema = z.object({
  timestamp: epochMillis,
  customer_id: z.string().regex(/^[0-9a-fA-F]{32}$/, 'is not a customer id (32 hex characters)'),
});
export type CancelRequest = z.infer<typeof cancelRequestSchema>;

/** Why a cancel was refused; the only reason so far: the pizza was baked. */
export const CANCEL_REFUSALS = ['too-late'] as const;
export type CancelRefusal = (typeof CANCEL_REFUSALS)[number];

/**
 * `pizza-cancelled`: how a cancel request ended. `{status: <cancelled>, timestamp}`
 * when the order was cancelled; `{status: <the order's status>, refused, timestamp}`
 * when it was too late, so a status view that knows nothing of `refused` still
 * reads a true status from it.
 */
export const cancelOutcomeSchema = z.object({
  status: statusId,
  timestamp: epochMillis,
  refused: z.enum(CANCEL_REFUSALS).optional(),
});
export type CancelOutcomeEvent = z.infer<typeof cancelOutcomeSchema>;

/** A record that breaks the domain's rules: the bus dead-letters it at once (code INVALID_EVENT, no retry). */
export class InvalidEventError extends PizzaError {
  override readonly name: string = 'InvalidEventError';

  constructor(message: string, options: Omit<PizzaErrorOptions, 'userFacing' | 'exitCode'> = {}) {
    super('INVALID_EVENT', message, options);
  }
}

/** A second `pizza-ordered` for a known order id from another customer: two orders must never merge. */
export class OrderIdCollisionError extends PizzaError {
  override readonly name = 'OrderIdCollisionError';

  constructor(message: string) {
    super('ORDER_ID_COLLISION', message);
  }
}

/**
 * The order id a record's key carries, checked on the key's bytes: decoding
 * first would turn invalid UTF-8 into U+FFFD and let an odd key pass as text.
 */
export function orderIdFromKey(keyBytes: Uint8Array | null): string {
  if (!keyBytes || keyBytes.length === 0) {
    throw new InvalidEventError('the record has no key; the order id is expected there');
  }
  // Order ids are short ASCII hex: anything longer is refused before it is decoded.
  const text = keyBytes.length <= 64 ? Buffer.from(keyBytes).toString('latin1') : '';
  if (!ORDER_ID_PATTERN.test(text)) {
    throw new InvalidEventError(
      `the key is not an order id (8 to 32 lowercase hex characters): ${keyBytes.length} bytes starting ${Buffer.from(keyBytes.subarray(0, 16)).toString('hex')}`,
    );
  }
  return text;
}

/** Parses a value's bytes as JSON and validates it; throws InvalidEventError. */
export function decodeEvent<T>(schema: z.ZodType<T>, value: Buffer | null): T {
  if (value === null) throw new InvalidEventError('the value is empty (a tombstone)');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    throw new InvalidEventError(`the value is not JSON: ${preview(value)}`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidEventError(`field "${issue?.path.join('.') ?? ''}": ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

function preview(value: Buffer): string {
  const text = value.subarray(0, 40).toString('utf8');
  return JSON.stringify(value.length > 40 ? `${text}…` : text);
}

export function orderedEvent(order: Order, status: number, timestamp: number): OrderedEvent {
  return {
    status,
    timestamp,
    order: {
      extra_toppings: order.extraToppings,
      sauce: order.sauce,
      cheese: order.cheese,
      main_topping: order.mainTopping,
      customer_id: order.customerId,
      username: order.username,
      // Only when there is one: an order without a note is byte for byte what it was before the field.
      ...(order.deliveryNote === undefined ? {} : { delivery_note: order.deliveryNote }),
    },
  };
}

export function orderFromEvent(orderId: string, event: OrderedEvent): Order {
  return {
    orderId,
    customerId: event.order.customer_id.toLowerCase(),
    username: event.order.username,
    sauce: event.order.sauce,
    cheese: event.order.cheese,
    mainTopping: event.order.main_topping,
    extraToppings: event.order.extra_toppings,
    ...(event.order.delivery_note === undefined ? {} : { deliveryNote: event.order.delivery_note }),
  };
}

export function encodeEvent(
  event: OrderedEvent | AssembledEvent | StatusEvent | CancelRequest | CancelOutcomeEvent,
): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}
