import type { Topics } from '../config/settings.js';
import {
  assembledEventSchema,
  cancelOutcomeSchema,
  decodeEvent,
  orderedEventSchema,
  orderIdFromKey,
  type StatusEvent,
  statusEventSchema,
} from '../domain/events.js';
import type { StatusRecordDecoder } from '../domain/status-update.js';

/**
 * The stage topics carry `{status, timestamp}` in their JSON, keyed by order
 * id, each checked with the schema of the stage that reads the topic: a record
 * a stage dead-letters (a baking time no recipe has, an order with no
 * customer) must not become a status row either.
 */
export function stageRecordDecoder(topics: Pick<Topics, 'ordered' | 'assembled'>): StatusRecordDecoder {
  const schemaOf = (topic: string) => {
    if (topic === topics.ordered) return orderedEventSchema;
    if (topic === topics.assembled) return assembledEventSchema;
    return statusEventSchema;
  };
  return async (record) => {
    const orderId = orderIdFromKey(record.keyBytes);
    const event: StatusEvent = decodeEvent(schemaOf(record.topic), record.value);
    return { orderId, status: event.status, timestamp: event.timestamp };
  };
}

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
