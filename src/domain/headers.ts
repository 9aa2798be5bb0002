/**
 * Record header names, in one place. The workshop's Python services ignore
 * headers, so everything here rides beside the JSON, never inside it.
 */
export const HEADERS = {
  /** The web form's idempotency key, carried with `pizza-ordered` so a rebuilt view still knows it. */
  idempotencyKey: 'pizza-idempotency-key',
  /** W3C trace context, for the operators' tracing. */
  traceparent: 'traceparent',
  /** Where a dead letter came from, why, and when. */
  deadLetter: {
    topic: 'pizza-dlq-topic',
    partition: 'pizza-dlq-partition',
    offset: 'pizza-dlq-offset',
    role: 'pizza-dlq-role',
    /** bad-event | permanent | retries-exhausted */
    reason: 'pizza-dlq-reason',
    error: 'pizza-dlq-error',
    time: 'pizza-dlq-time',
    /** Present when the key or value was cut to fit: which of them, comma-separated. */
    truncated: 'pizza-dlq-truncated',
    keySha256: 'pizza-dlq-key-sha256',
    valueSha256: 'pizza-dlq-value-sha256',
    /** The original record's own headers are kept under this prefix. */
    originalPrefix: 'pizza-dlq-original-',
  },
  /** Set on a record replayed from the dead-letter topic: the dead letter's partition/offset. */
  replayedFrom: 'pizza-replayed-from',
} as const;

export type DeadLetterReason = 'bad-event' | 'permanent' | 'retries-exhausted';
