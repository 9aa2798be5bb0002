import type { BusRecord } from '../adapters/bus/bus.js';
import { cancelOutcomeSchema, decodeEvent, orderIdFromKey, statusEventSchema } from '../domain/events.js';

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
  const orderId = orderIdFromKey(record.keyBytes);
  const event = decodeEvent(statusEventSchema, record.value);
  return { orderId, status: event.status, timestamp: event.timestamp };
};

/**
 * `pizza-cancelled`: a cancellation carries the cancelled status; a refusal
 * ("too late") the status the order had, which the view applies like any other
 * (forward only) and records in the order's events, where the page finds it.
 */
export const decodeOutcomeRecord: StatusRecordDecoder = async (record) => {
  const orderId = orderIdFromKey(record.keyBytes);
  const event = decodeEvent(cancelOutcomeSchema, record.value);
  return { orderId, status: event.status, timestamp: event.timestamp };
};
