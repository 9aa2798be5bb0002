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

/**
 * What goes on the log topic, keyed by order id: `{time, level, role, msg, ...fields}`.
 * The order id is the key, so the value leaves it out.
 */
export interface OrderLogValue {
  time: number;
  level: number;
  role: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** Lines of this component are never published: they are about the log topic itself, and would feed back. */
export const ORDER_LOGS_COMPONENT = 'order-logs';

const INFO_LEVEL = 30;
const MAX_MSG_CHARS = 500;
const MAX_FIELD_CHARS = 200;
const MAX_FIELDS = 16;
/** Fields the line's columns or key already carry, or that say nothing about the order. */
const LEFT_OUT = new Set(['time', 'level', 'role', 'msg', 'orderId', 'pid', 'hostname', 'stack']);

function cut(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** An error keeps its message at most: a stack would show the server's paths and swell the topic. */
function smallField(value: unknown): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return cut(value, MAX_FIELD_CHARS);
  if (typeof value === 'object' && ('stack' in value || 'message' in value) && !Array.isArray(value)) {
    const message = (value as { message?: unknown }).message;
    return typeof message === 'string' ? cut(message, MAX_FIELD_CHARS) : undefined;
  }
  const text = JSON.stringify(value);
  if (text === undefined) return undefined;
  return text.length <= MAX_FIELD_CHARS ? value : cut(text, MAX_FIELD_CHARS);
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
  if (line.component === ORDER_LOGS_COMPONENT) return undefined;
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
      role: cut(role, 32),
      msg: cut(typeof msg === 'string' ? msg : '', MAX_MSG_CHARS),
      fields,
    },
  };
}

/** Compact JSON, one object: `{time, level, role, msg, ...fields}`. */
export function encodeOrderLogValue(value: OrderLogValue): Buffer {
  return Buffer.from(
    JSON.stringify({ ...value.fields, time: value.time, level: value.level, role: value.role, msg: value.msg }),
  );
}

const wireSchema = z.looseObject({
  time: z.number(),
  level: z.number().int().min(0).max(100),
  role: z.string().min(1).max(64),
  msg: z.string().max(4_000),
});

/** Reads a record of the log topic; undefined when it is not one (the topic is shared, and anyone may write to it). */
export function decodeOrderLogRecord(
  key: string | null,
  value: Buffer | null,
): { orderId: string; value: OrderLogValue } | undefined {
  if (!key || !ORDER_ID_PATTERN.test(key) || !value) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  const result = wireSchema.safeParse(parsed);
  if (!result.success) return undefined;
  const { time, level, role, msg, ...rest } = result.data;
  const fields: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(rest)) {
    if (LEFT_OUT.has(name)) continue;
    const small = smallField(field);
    if (small !== undefined) fields[name] = small;
  }
  return { orderId: key, value: { time, level, role, msg, fields } };
}
