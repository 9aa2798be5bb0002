import { describe, expect, it } from 'vitest';
import { PermanentError } from '../src/adapters/bus/failures.js';
import { TooManyRequestsError } from '../src/adapters/http/plugins/security.js';
import { IniSyntaxError } from '../src/config/ini.js';
import { InvalidEventError, OrderIdCollisionError } from '../src/domain/events.js';
import { configError, EXIT_CODES, PIZZA_ERROR_CODES, PizzaError } from '../src/errors.js';
import { OrderCancelledError } from '../src/roles/cancels.js';

describe('PizzaError: a closed set of codes, each with a retry verdict', () => {
  it('takes its retry verdict from its code, never from the message', () => {
    expect(new PizzaError('KAFKA_UNREACHABLE', 'gone').canRetry).toBe(true);
    expect(new PizzaError('SCHEMA_REGISTRY_UNAVAILABLE', 'will not retry (words only)').canRetry).toBe(true);
    expect(new PizzaError('KAFKA_AUTH', 'try again later (words only)').canRetry).toBe(false);
    expect(new PizzaError('TOPICS_MISSING', 'x').canRetry).toBe(false);
  });

  it('says whether a user made the mistake (message alone, no stack) and which exit code to use', () => {
    const config = configError('bad key', new Error('underneath'));
    expect(config).toMatchObject({ code: 'CONFIG', userFacing: true, exitCode: EXIT_CODES.usage, canRetry: false });
    expect(config.cause).toBeInstanceOf(Error);
    expect(new PizzaError('TOPICS_MISSING', 'x')).toMatchObject({ userFacing: true, exitCode: EXIT_CODES.failed });
    // A record's failure is the shop's business, not the user's: printed with its stack if it ever reaches the CLI.
    expect(new InvalidEventError('bad').userFacing).toBe(false);
  });

  it('is the base of every error the shop defines, each with its own code', () => {
    const errors: Array<[PizzaError, string, boolean]> = [
      [new IniSyntaxError(3, 'line 3 is odd'), 'INI_SYNTAX', false],
      [new InvalidEventError('field "status": required'), 'INVALID_EVENT', false],
      [new OrderIdCollisionError('two customers, one id'), 'ORDER_ID_COLLISION', false],
      [new OrderCancelledError('order abc was cancelled'), 'ORDER_CANCELLED', false],
      [new PermanentError('too large, always'), 'PERMANENT', false],
      [new TooManyRequestsError(30), 'TOO_MANY_REQUESTS', true],
    ];
    for (const [error, code, canRetry] of errors) {
      expect(error, error.name).toBeInstanceOf(PizzaError);
      expect(error.code, error.name).toBe(code);
      expect(error.canRetry, error.name).toBe(canRetry);
      expect(PIZZA_ERROR_CODES).toContain(error.code);
    }
  });

  it('keeps the subclasses’ names and fields, which callers and logs use', () => {
    const ini = new IniSyntaxError(7, 'line 7 is neither');
    expect(ini).toMatchObject({ name: 'IniSyntaxError', line: 7, message: 'line 7 is neither' });
    const limited = new TooManyRequestsError(12);
    expect(limited).toMatchObject({ name: 'TooManyRequestsError', statusCode: 429, retryAfterSeconds: 12 });
    expect(new InvalidEventError('x', { cause: 'why' })).toMatchObject({ name: 'InvalidEventError', cause: 'why' });
  });

  it('tells its codes apart with PizzaError.is', () => {
    const missing = new PizzaError('TOPICS_MISSING', 'x');
    expect(PizzaError.is(missing, 'TOPICS_MISSING')).toBe(true);
    expect(PizzaError.is(missing, 'CONFIG', 'KAFKA_AUTH')).toBe(false);
    expect(PizzaError.is(missing)).toBe(true);
    expect(PizzaError.is(Object.assign(new Error('x'), { code: 'TOPICS_MISSING' }), 'TOPICS_MISSING')).toBe(false);
  });
});
