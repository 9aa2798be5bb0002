import { cancelOutcomeSchema, decodeEvent, orderIdFromKey, statusEventSchema } from '../domain/events.js';
import type { StatusRecordDecoder } from '../domain/status-update.js';

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
