import { describe, expect, it } from 'vitest';
import { canRetry, kafkaErrorCode, kafkaErrorVerdict } from '../../../src/adapters/kafka/errors.js';
import { PizzaError } from '../../../src/errors.js';

/** An error as the client's KafkaJS API gives it: a librdkafka code, and marks that 1.10 always leaves false. */
function clientError(message: string, code: number) {
  return Object.assign(new Error(message), { code, retriable: false, fatal: false, abortable: false });
}

describe("librdkafka's error codes, mapped once", () => {
  it('retries a retriable code even though the client says retriable=false', () => {
    const timedOut = clientError('Timed out waiting for operation to finish, retry call to resume', -185);
    expect(kafkaErrorVerdict(timedOut)).toEqual({ code: -185, name: '_TIMED_OUT', kind: 'timeout', canRetry: true });
    expect(kafkaErrorVerdict(clientError('Local: Broker transport failure', -195))).toMatchObject({
      kind: 'unavailable',
      canRetry: true,
    });
    expect(kafkaErrorVerdict(clientError('Broker: Not leader for partition', 6))).toMatchObject({
      kind: 'unavailable',
      canRetry: true,
    });
  });

  it('never retries a record the broker will never take', () => {
    expect(kafkaErrorVerdict(clientError('Broker: Message size too large', 10))).toMatchObject({
      name: 'MSG_SIZE_TOO_LARGE',
      kind: 'permanent',
      canRetry: false,
    });
    expect(kafkaErrorVerdict(clientError('Local: Invalid argument', -186))?.kind).toBe('permanent');
  });

  it('says when a producer must be replaced rather than retried', () => {
    for (const code of [-150, -144, 47, 90]) {
      expect(kafkaErrorVerdict(clientError('fenced or fatal', code)), String(code)).toMatchObject({
        kind: 'fatal',
        canRetry: false,
      });
    }
  });

  it('treats a code it does not name as transient: a few retries, no endless wait', () => {
    expect(kafkaErrorVerdict(clientError('Broker: Unknown member', 25))).toEqual({
      code: 25,
      name: undefined,
      kind: 'transient',
      canRetry: true,
    });
  });

  it('reads no code from errors that carry none: plain errors, system errors, the client’s "unknown"', () => {
    expect(kafkaErrorVerdict(new Error('Local: Broker transport failure'))).toBeUndefined();
    expect(kafkaErrorVerdict(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(kafkaErrorVerdict(clientError('Can only start one transaction at a time.', -1))).toBeUndefined();
    expect(kafkaErrorCode(null)).toBeUndefined();
    expect(kafkaErrorCode('text')).toBeUndefined();
  });

  it('gives one retry verdict for our errors and the client’s alike, and none for an error that says nothing', () => {
    expect(canRetry(clientError('Local: Timed out', -185))).toBe(true);
    expect(canRetry(clientError('Broker: Message size too large', 10))).toBe(false);
    expect(canRetry(new PizzaError('TOPICS_NOT_READY', 'not yet'))).toBe(true);
    expect(canRetry(new PizzaError('KAFKA_AUTH', 'refused'))).toBe(false);
    expect(canRetry(new Error('who knows'))).toBe(false);
  });
});
