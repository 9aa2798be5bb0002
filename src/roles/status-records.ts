import type { BusRecord } from '../adapters/bus/bus.js';
import { decodeEvent, InvalidEventError, statusEventSchema } from '../domain/events.js';

/** A status change for one order, whichever topic it came from. */
export interface StatusUpdate {
  orderId: string;
  status: number;
  timestamp: number;
}

/** Turns a record into a status update; undefined for a record to pass over (a tombstone). */
export type StatusRecordDecoder = (record: BusRecord) => Promise<StatusUpdate | undefined>;

/** The stage topics carry `{status, timestamp}` in their JSON, keyed by order id. */
export const decodeStageRecord: StatusRecordDecoder = async (record) => {
  if (!record.key) throw new InvalidEventError('the record has no key; the order id is expected there');
  const event = decodeEvent(statusEventSchema, record.value);
  return { orderId: record.key, status: event.status, timestamp: event.timestamp };
};

/**
 * `pizza-status` rows as plain JSON: `status`/`timestamp` in either case, the
 * order id from the key or an `orderid`/`order_id` field. Tombstones are passed over.
 */
export const decodePlainStatusRecord: StatusRecordDecoder = async (record) => {
  if (record.value === null) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString('utf8'));
  } catch {
    throw new InvalidEventError('the value is not JSON');
  }
  const fields = Object.fromEntries(
    Object.entries(json as Record<string, unknown>).map(([field, value]) => [field.toLowerCase(), value]),
  );
  const orderId = record.key ?? fields.orderid ?? fields.order_id;
  const status = Number(fields.status);
  const timestamp = Number(fields.timestamp);
  if (typeof orderId !== 'string' || !Number.isInteger(status) || !Number.isFinite(timestamp)) {
    throw new InvalidEventError('expected an order id, a numeric status and a timestamp');
  }
  return { orderId, status, timestamp };
};
