import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import {
  CANCEL_TABLE,
  cancelAction,
  cancelOutcomeOf,
  decideCancel,
  mayRequestCancel,
  type OrderStage,
} from '../../src/domain/cancel.js';
import { cancelOutcomeSchema, cancelRequestSchema, decodeEvent, encodeEvent } from '../../src/domain/events.js';

const catalog = loadSettings().statuses;

describe('the cancel state table', () => {
  it.each<[OrderStage, string, string | undefined]>([
    ['not-seen', 'cancelled', 'assemble'],
    ['assembling', 'cancelled', 'assemble'],
    ['awaiting-oven', 'cancelled', 'bake'],
    ['baking', 'cancelled', 'bake'],
    ['baked', 'too-late', 'deliver'],
    ['pending', 'too-late', 'deliver'],
    ['out-for-delivery', 'too-late', 'deliver'],
    ['delivered', 'already-final', undefined],
    ['cancelled', 'already-final', undefined],
  ])('an order %s, cancelled: %s, announced by %s', (stage, verdict, announcedBy) => {
    expect(decideCancel(stage)).toEqual({ verdict, announcedBy });
  });

  it('covers every stage, and no stage is announced by two roles', () => {
    expect(Object.keys(CANCEL_TABLE)).toHaveLength(9);
    for (const stage of Object.keys(CANCEL_TABLE) as OrderStage[]) {
      const actors = (['assemble', 'bake', 'deliver'] as const).filter(
        (role) => cancelAction(role, stage) !== 'remember',
      );
      expect(actors.length, stage).toBeLessThanOrEqual(1);
    }
  });

  it('tells each role to stop, refuse or only remember, from what it alone sees', () => {
    expect(cancelAction('assemble', 'not-seen')).toBe('stop');
    expect(cancelAction('assemble', 'assembling')).toBe('stop');
    expect(cancelAction('bake', 'awaiting-oven')).toBe('stop');
    expect(cancelAction('bake', 'baking')).toBe('stop');
    expect(cancelAction('deliver', 'baked')).toBe('refuse');
    expect(cancelAction('deliver', 'pending')).toBe('refuse');
    expect(cancelAction('deliver', 'out-for-delivery')).toBe('refuse');
    expect(cancelAction('deliver', 'delivered')).toBe('remember');
    // The order is in another stage's hands (or not in this role's at all).
    expect(cancelAction('assemble', undefined)).toBe('remember');
    expect(cancelAction('bake', 'assembling')).toBe('remember');
    expect(cancelAction('deliver', 'baking')).toBe('remember');
  });
});

describe('what the order page offers and shows', () => {
  it('offers to cancel until the pizza is out of the oven', () => {
    expect(mayRequestCancel(catalog, 100)).toBe(true);
    expect(mayRequestCancel(catalog, 200)).toBe(true);
    expect(mayRequestCancel(catalog, 300)).toBe(false);
    expect(mayRequestCancel(catalog, 150)).toBe(false);
    expect(mayRequestCancel(catalog, 999)).toBe(false);
    expect(mayRequestCancel(catalog, 499)).toBe(false);
    expect(mayRequestCancel(catalog, 430)).toBe(false);
  });

  it('reads the outcome from the events the view recorded', () => {
    const events = (...rows: Array<[string, number]>) => rows.map(([topic, status]) => ({ topic, status }));
    expect(cancelOutcomeOf(events(['pizza-ordered', 100]), 'pizza-cancelled', catalog)).toBeUndefined();
    expect(cancelOutcomeOf(events(['pizza-ordered', 100], ['pizza-cancelled', 499]), 'pizza-cancelled', catalog)).toBe(
      'cancelled',
    );
    // Through Flink the cancellation comes on pizza-status.
    expect(cancelOutcomeOf(events(['pizza-status', 499]), 'pizza-cancelled', catalog)).toBe('cancelled');
    expect(cancelOutcomeOf(events(['pizza-baked', 300], ['pizza-cancelled', 300]), 'pizza-cancelled', catalog)).toBe(
      'refused',
    );
  });
});

describe('the cancel wire format', () => {
  it('reads a request and both outcomes, and refuses what is not one', () => {
    const customer = '0123456789abcdef0123456789abcdef';
    const request = { timestamp: 1_700_000_000_000, customer_id: customer };
    expect(decodeEvent(cancelRequestSchema, encodeEvent(request))).toEqual(request);
    expect(() => decodeEvent(cancelRequestSchema, Buffer.from('{"timestamp":1,"customer_id":"me"}'))).toThrow(
      /customer_id/,
    );
    expect(decodeEvent(cancelOutcomeSchema, Buffer.from('{"status":499,"timestamp":5}'))).toEqual({
      status: 499,
      timestamp: 5,
    });
    expect(decodeEvent(cancelOutcomeSchema, Buffer.from('{"status":300,"timestamp":5,"refused":"too-late"}'))).toEqual({
      status: 300,
      timestamp: 5,
      refused: 'too-late',
    });
    expect(() =>
      decodeEvent(cancelOutcomeSchema, Buffer.from('{"status":300,"timestamp":5,"refused":"because"}')),
    ).toThrow(/refused/);
  });
});
