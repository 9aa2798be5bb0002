import { describe, expect, it } from 'vitest';
import { classifyFailure, PermanentError } from '../../../src/adapters/bus/failures.js';
import { InvalidEventError, OrderIdCollisionError } from '../../../src/domain/events.js';
import { PizzaError } from '../../../src/errors.js';

const clientError = (message: string, code: number) =>
  Object.assign(new Error(message), { code, retriable: false, fatal: false });

describe('what the dispatcher does with a failure, decided from the error', () => {
  it('dead-letters a bad event at once, an order id collision included', () => {
    expect(classifyFailure(new InvalidEventError('field "status": required'))).toBe('bad-event');
    expect(classifyFailure(new OrderIdCollisionError('two customers, one id'))).toBe('bad-event');
  });

  it('dead-letters at once what no retry can fix', () => {
    expect(classifyFailure(new PermanentError('never fits'))).toBe('permanent');
    expect(classifyFailure(clientError('Broker: Message size too large', 10))).toBe('permanent');
  });

  it('waits for a broker or a Schema Registry that is away, however the client marks the error', () => {
    expect(classifyFailure(clientError('Local: Broker transport failure', -195))).toBe('unavailable');
    expect(classifyFailure(clientError('Local: Timed out', -185))).toBe('unavailable');
    expect(classifyFailure(new PizzaError('KAFKA_UNREACHABLE', 'gone'))).toBe('unavailable');
    // Issue 22: records under a contract wait out a registry outage; they are never dead-lettered for it.
    expect(classifyFailure(new PizzaError('SCHEMA_REGISTRY_UNAVAILABLE', 'registry down'))).toBe('unavailable');
  });

  it('retries a bounded number of times what may pass', () => {
    expect(classifyFailure(clientError('Broker: Unknown member', 25))).toBe('transient');
    expect(classifyFailure(clientError('Broker: Producer fenced', 90))).toBe('transient');
    expect(classifyFailure(new Error('SQLITE_BUSY: database is locked'))).toBe('transient');
  });

  it('reads the words only of an error that carries no code', () => {
    expect(classifyFailure(new Error('Message size too large'))).toBe('permanent');
    expect(classifyFailure(new Error('Local: All broker connections are down: all brokers down'))).toBe('unavailable');
    // A code decides over the words.
    expect(classifyFailure(clientError('connection refused, but the code says otherwise', 10))).toBe('permanent');
  });
});
