/**
 * librdkafka's error codes, read once, here: what each means for whoever
 * caught it. The client's own marks are not used: @confluentinc/kafka-javascript
 * 1.10 leaves `retriable` (and `fatal`, `abortable`) false on the errors of its
 * KafkaJS API, whatever librdkafka said, so the code is all there is to go by.
 *
 * The codes are numbers here rather than the client's `CODES.ERRORS`, so that
 * reading an error never loads the native client (the embedded bus's
 * dispatcher classifies failures too).
 */

import { PizzaError } from '../../errors.js';

/**
 * - unavailable: the cluster, a leader or a coordinator is away; worth waiting for, however long;
 * - timeout: the operation did not finish in time and may still be going on (a transaction's commit
 *   goes on in the background, and calling commit again resumes it);
 * - transient: may pass; worth a bounded number of retries;
 * - permanent: this request will never succeed (a record too large, an argument the client refuses);
 * - fatal: the client (a transactional or idempotent producer) cannot go on and must be replaced.
 */
export type KafkaErrorKind = 'unavailable' | 'timeout' | 'transient' | 'permanent' | 'fatal';

export interface KafkaErrorVerdict {
  /** librdkafka's code: negative for the client's own errors, positive for the broker's. */
  code: number;
  /** librdkafka's name for it, without the `ERR_` prefix; undefined for a code not in the table. */
  name: string | undefined;
  kind: KafkaErrorKind;
  /** Whether the same call may succeed if made again. */
  canRetry: boolean;
}

const KAFKA_ERRORS: ReadonlyMap<number, { name: string; kind: KafkaErrorKind }> = new Map([
  [-195, { name: '_TRANSPORT', kind: 'unavailable' }], // the connection broke
  [-192, { name: '_MSG_TIMED_OUT', kind: 'unavailable' }], // not delivered within message.timeout.ms: the broker was away
  [-187, { name: '_ALL_BROKERS_DOWN', kind: 'unavailable' }],
  [-185, { name: '_TIMED_OUT', kind: 'timeout' }],
  [5, { name: 'LEADER_NOT_AVAILABLE', kind: 'unavailable' }],
  [6, { name: 'NOT_LEADER_FOR_PARTITION', kind: 'unavailable' }],
  [7, { name: 'REQUEST_TIMED_OUT', kind: 'unavailable' }],
  [13, { name: 'NETWORK_EXCEPTION', kind: 'unavailable' }],
  [14, { name: 'COORDINATOR_LOAD_IN_PROGRESS', kind: 'unavailable' }],
  [15, { name: 'COORDINATOR_NOT_AVAILABLE', kind: 'unavailable' }],
  [19, { name: 'NOT_ENOUGH_REPLICAS', kind: 'unavailable' }],
  [20, { name: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', kind: 'unavailable' }],
  [10, { name: 'MSG_SIZE_TOO_LARGE', kind: 'permanent' }], // this record will never fit
  [18, { name: 'RECORD_LIST_TOO_LARGE', kind: 'permanent' }],
  [87, { name: 'INVALID_RECORD', kind: 'permanent' }],
  [-190, { name: '_UNKNOWN_PARTITION', kind: 'permanent' }], // a partition the topic does not have
  [-186, { name: '_INVALID_ARG', kind: 'permanent' }],
  [-150, { name: '_FATAL', kind: 'fatal' }],
  [-144, { name: '_FENCED', kind: 'fatal' }], // this producer was fenced by a newer one with its transactional id
  [47, { name: 'INVALID_PRODUCER_EPOCH', kind: 'fatal' }],
  [90, { name: 'PRODUCER_FENCED', kind: 'fatal' }], // another producer took over the transactional id
]);

const CAN_RETRY: Record<KafkaErrorKind, boolean> = {
  unavailable: true,
  timeout: true,
  transient: true,
  permanent: false,
  fatal: false,
};

/** ERR_UNKNOWN: what the client puts on an error it made without a code. */
const UNKNOWN = -1;

/**
 * The librdkafka code an error carries (the client's errors keep it in
 * `code`); undefined for any other error, and for the client's "unknown".
 */
export function kafkaErrorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'number' && Number.isInteger(code) && code !== UNKNOWN ? code : undefined;
}

/**
 * Whether doing the same again may succeed: a PizzaError's own verdict, else
 * its librdkafka code's; false for an error that says neither.
 */
export function canRetry(error: unknown): boolean {
  if (error instanceof PizzaError) return error.canRetry;
  return kafkaErrorVerdict(error)?.canRetry ?? false;
}

/**
 * What an error from the Kafka client means, from its code; undefined for an
 * error that carries no librdkafka code. A code the table does not name is
 * transient: worth a few retries, not worth waiting on forever.
 */
export function kafkaErrorVerdict(error: unknown): KafkaErrorVerdict | undefined {
  const code = kafkaErrorCode(error);
  if (code === undefined) return undefined;
  const known = KAFKA_ERRORS.get(code);
  const kind = known?.kind ?? 'transient';
  return { code, name: known?.name, kind, canRetry: CAN_RETRY[kind] };
}
