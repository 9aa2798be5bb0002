import { InvalidEventError } from '../../domain/events.js';
import type { FailureKind } from './bus.js';

/** An error that no retry can fix (an output the broker will never accept, say). */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

// librdkafka's codes, as the Kafka client's errors carry them in `code`.
const UNAVAILABLE_CODES = new Set([
  -195, // ERR__TRANSPORT: the connection broke
  -192, // ERR__MSG_TIMED_OUT: not delivered within message.timeout.ms (the broker was away)
  -187, // ERR__ALL_BROKERS_DOWN
  -185, // ERR__TIMED_OUT
  5, // LEADER_NOT_AVAILABLE
  6, // NOT_LEADER_FOR_PARTITION
  7, // REQUEST_TIMED_OUT
  13, // NETWORK_EXCEPTION
  14, // COORDINATOR_LOAD_IN_PROGRESS
  15, // COORDINATOR_NOT_AVAILABLE
  19, // NOT_ENOUGH_REPLICAS
  20, // NOT_ENOUGH_REPLICAS_AFTER_APPEND
]);
const PERMANENT_CODES = new Set([
  10, // MSG_SIZE_TOO_LARGE: this record will never fit
  18, // RECORD_LIST_TOO_LARGE
  87, // INVALID_RECORD
  -190, // ERR__MSG_SIZE_TOO_LARGE (local)
  -186, // ERR__INVALID_ARG
]);

/**
 * Sorts a handler's failure into what the dispatcher does with it:
 * - bad-event: the record breaks the domain's rules; dead-lettered at once;
 * - permanent: no retry can succeed; dead-lettered at once;
 * - unavailable: the broker is away; wait for it, however long, and never give up the record;
 * - transient: anything else (a busy SQLite file, a timeout); retried a bounded number of times.
 */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof InvalidEventError) return 'bad-event';
  if (error instanceof PermanentError) return 'permanent';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number') {
    if (PERMANENT_CODES.has(code)) return 'permanent';
    if (UNAVAILABLE_CODES.has(code)) return 'unavailable';
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/message size too large|record.*too large/i.test(message)) return 'permanent';
  if (/all brokers? down|broker transport failure|connection refused/i.test(message)) return 'unavailable';
  return 'transient';
}
