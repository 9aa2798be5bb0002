import { PizzaError, type PizzaErrorCode } from '../../errors.js';
import { type KafkaErrorKind, kafkaErrorVerdict } from '../kafka/errors.js';
import type { FailureKind } from './bus.js';

/** An error that no retry can fix (an output the broker will never accept, say). */
export class PermanentError extends PizzaError {
  override readonly name = 'PermanentError';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super('PERMANENT', message, options);
  }
}

/**
 * Outages that no number of retries outlasts and no record may be given up for:
 * the broker or Schema Registry away, and a full file (an outage of the disk).
 */
const OUTAGES: ReadonlySet<PizzaErrorCode> = new Set([
  'KAFKA_UNREACHABLE',
  'SCHEMA_REGISTRY_UNAVAILABLE',
  'STORE_FULL',
]);

/** What the dispatcher does with each kind of Kafka client error. */
const FROM_KAFKA: Record<KafkaErrorKind, FailureKind> = {
  unavailable: 'unavailable',
  // An operation that timed out: the broker is slow or away, so wait for it like an outage.
  timeout: 'unavailable',
  transient: 'transient',
  permanent: 'permanent',
  // The client must be replaced, which is not the handler's to do: a few retries, then the dead-letter topic.
  fatal: 'transient',
};

/**
 * Sorts a handler's failure into what the dispatcher does with it, from the
 * error itself (its code and retry verdict):
 * - bad-event: the record breaks the domain's rules; dead-lettered at once;
 * - permanent: no retry can succeed; dead-lettered at once;
 * - unavailable: the broker or Schema Registry is away, or a file is full; wait for it, however long, and never give up the record;
 * - transient: anything else (a busy SQLite file, a timeout); retried a bounded number of times.
 */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof PizzaError) {
    if (error.code === 'INVALID_EVENT' || error.code === 'ORDER_ID_COLLISION') return 'bad-event';
    if (!error.canRetry) return 'permanent';
    return OUTAGES.has(error.code) ? 'unavailable' : 'transient';
  }
  const kafka = kafkaErrorVerdict(error);
  if (kafka) return FROM_KAFKA[kafka.kind];
  return classifyByMessage(error);
}

/**
 * The fallback for errors that carry no code at all (some of the client's
 * errors are plain Errors with librdkafka's words in the message): the words
 * decide. Anything with a code never gets here.
 */
function classifyByMessage(error: unknown): FailureKind {
  const message = error instanceof Error ? error.message : String(error);
  if (/message size too large|record.*too large/i.test(message)) return 'permanent';
  if (/all brokers? down|broker transport failure|connection refused/i.test(message)) return 'unavailable';
  return 'transient';
}
