import { z } from 'zod';
import { ORDER_ID_PATTERN } from '../../domain/order.js';

/** A log line as pino writes it, and as the presenters read it. */
export interface LogLine {
  time: number;
  level: number;
  role: string;
  msg: string;
  orderId?: string;
  [field: string]: unknown;
}

/** One line about one order, as the log topic carries it (see `encodeOrderLogBatch`). */
export interface OrderLogValue {
  time: number;
  level: number;
  role: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** Lines of this component are never published: they are about the log topic itself, and would feed back. */
export const ORDER_LOGS_COMPONENT = 'order-logs';

/**
 * Nor are the status view's lines ("status: Your pizza is in the oven"): every
 * web host's view writes them into its own copy as it applies the change, so
 * publishing them would show each one once per host, and cost a third of an
 * order's lines on the topic.
 */
export const STATUS_VIEW_COMPONENT = 'status-view';

const INFO_LEVEL = 30;
export const MAX_MSG_CHARS = 500;
export const MAX_FIELD_CHARS = 200;
export const MAX_FIELDS = 16;
export const MAX_ROLE_CHARS = 32;
/** Fields the line's columns or key already carry, or that say nothing about the order. */
const LEFT_OUT = new Set(['time', 'level', 'role', 'msg', 'orderId', 'pid', 'hostname', 'stack']);

function cut(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** Nesting a field keeps before the rest is left out: the lines are short, for people. */
const MAX_DEPTH = 3;

function isErrorLike(value: object): value is { message?: unknown; stack?: unknown } {
  return !Array.isArray(value) && ('stack' in value || ('message' in value && ('type' in value || 'name' in value)));
}

/**
 * An error's words and nothing else: its message, and the messages of the
 * errors it gathers (an AggregateError's `errors`, as pino's `aggregateErrors`).
 * Stacks never: they show the server's paths to customers and swell the topic.
 */
function errorText(error: { message?: unknown }): string | undefined {
  const message = typeof error.message === 'string' ? error.message : undefined;
  const gathered =
    (error as { aggregateErrors?: unknown; errors?: unknown }).aggregateErrors ??
    (error as { errors?: unknown }).errors;
  const nested = Array.isArray(gathered)
    ? gathered.flatMap((item) => {
        if (typeof item === 'string') return [item];
        const text = item && typeof item === 'object' ? errorText(item as { message?: unknown }) : undefined;
        return text === undefined ? [] : [text];
      })
    : [];
  if (nested.length === 0) return message;
  return `${message ?? 'several errors'} (${nested.join('; ')})`;
}

/** The value without a stack at any depth: errors become their words, other objects lose `stack` keys. */
function withoutStacks(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (isErrorLike(value)) return errorText(value);
  if (depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) return value.map((item) => withoutStacks(item, depth + 1) ?? null);
  const kept: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'stack') continue;
    const small = withoutStacks(item, depth + 1);
    if (small !== undefined) kept[key] = small;
  }
  return kept;
}

/** A field as a customer may read it: short, and with no stack in it however deeply nested. */
function smallField(value: unknown): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return cut(value, MAX_FIELD_CHARS);
  const safe = withoutStacks(value, 0);
  if (safe === undefined || safe === null || typeof safe !== 'object') return smallField(safe);
  const text = JSON.stringify(safe);
  if (text === undefined) return undefined;
  return text.length <= MAX_FIELD_CHARS ? safe : cut(text, MAX_FIELD_CHARS);
}

/**
 * The record for one pino line, or undefined when the line is not published:
 * below info, about no order (or not a valid order id), from no role, or about
 * the log topic itself.
 */
export function orderLogRecord(line: Record<string, unknown>): { orderId: string; value: OrderLogValue } | undefined {
  const { orderId, level, role, time, msg } = line;
  if (typeof orderId !== 'string' || !ORDER_ID_PATTERN.test(orderId)) return undefined;
  if (typeof level !== 'number' || level < INFO_LEVEL) return undefined;
  if (typeof role !== 'string' || role === '') return undefined;
  if (line.component === ORDER_LOGS_COMPONENT || line.component === STATUS_VIEW_COMPONENT) return undefined;
  const fields: Record<string, unknown> = {};
  let count = 0;
  for (const [key, value] of Object.entries(line)) {
    if (LEFT_OUT.has(key) || count >= MAX_FIELDS) continue;
    const small = smallField(value);
    if (small === undefined) continue;
    fields[key] = small;
    count += 1;
  }
  return {
    orderId,
    value: {
      time: typeof time === 'number' ? time : Date.now(),
      level,
      role: cut(role, MAX_ROLE_CHARS),
      msg: cut(typeof msg === 'string' ? msg : '', MAX_MSG_CHARS),
      fields,
    },
  };
}

/** Compact JSON, one object: `{time, level, role, msg, ...fields}`. */
export function encodeOrderLogValue(value: OrderLogValue): Buffer {
  return Buffer.from(JSON.stringify(wireLine(value)));
}

/** One line of a batch names its order: `{orderId, time, level, role, msg, ...fields}`. */
function wireLine(value: OrderLogValue, orderId?: string): Record<string, unknown> {
  return {
    ...value.fields,
    ...(orderId === undefined ? {} : { orderId }),
    time: value.time,
    level: value.level,
    role: value.role,
    msg: value.msg,
  };
}

/**
 * Several lines, of any orders, in one record: `{"lines": [{orderId, time,
 * level, role, msg, ...fields}, ...]}`. A record per line cost more than the
 * work the lines are about (about 12 per order); a batch costs one.
 */
export function encodeOrderLogBatch(lines: ReadonlyArray<{ orderId: string; value: OrderLogValue }>): Buffer {
  return encodeOrderLogLines(lines.map(encodeOrderLogLine));
}

/** One line of a batch, as JSON text. */
export function encodeOrderLogLine({ orderId, value }: { orderId: string; value: OrderLogValue }): string {
  return JSON.stringify(wireLine(value, orderId));
}

/** A batch of lines already JSON text (`encodeOrderLogLine`, or a pino line as it is: see line-as-is.ts). */
export function encodeOrderLogLines(lines: readonly string[]): Buffer {
  return Buffer.from(`{"lines":[${lines.join(',')}]}`);
}

const wireSchema = z.looseObject({
  time: z.number(),
  level: z.number().int().min(0).max(100),
  role: z.string().min(1).max(64),
  msg: z.string().max(4_000),
});

/** How many lines one record may hold; beyond, the rest of the record is left out. */
export const MAX_LINES_PER_RECORD = 1_000;

/**
 * Reads a record of the log topic: a batch (any key), or a single line keyed
 * by its order id (what earlier versions wrote). Lines that are not valid are
 * left out: the topic is shared, and anyone may write to it.
 */
export function decodeOrderLogRecord(
  key: string | null,
  value: Buffer | null,
): Array<{ orderId: string; value: OrderLogValue }> {
  if (!value) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return [];
  }
  if (parsed && typeof parsed === 'object' && Array.isArray((parsed as { lines?: unknown }).lines)) {
    return (parsed as { lines: unknown[] }).lines.slice(0, MAX_LINES_PER_RECORD).flatMap((line) => {
      const orderId = line && typeof line === 'object' ? (line as { orderId?: unknown }).orderId : undefined;
      const decoded = typeof orderId === 'string' ? decodeLine(orderId, line) : undefined;
      return decoded ? [decoded] : [];
    });
  }
  const decoded = key ? decodeLine(key, parsed) : undefined;
  return decoded ? [decoded] : [];
}

function decodeLine(orderId: string, parsed: unknown): { orderId: string; value: OrderLogValue } | undefined {
  if (!ORDER_ID_PATTERN.test(orderId)) return undefined;
  const result = wireSchema.safeParse(parsed);
  if (!result.success) return undefined;
  const { time, level, role, msg, ...rest } = result.data;
  const fields: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(rest)) {
    if (LEFT_OUT.has(name)) continue;
    const small = smallField(field);
    if (small !== undefined) fields[name] = small;
  }
  return { orderId, value: { time, level, role, msg, fields } };
}
