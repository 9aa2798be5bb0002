import { describe, expect, it } from 'vitest';
import { isComplete, statusLabel, statusName } from '../../src/domain/statuses.js';
import { testSettings } from '../support/settings.js';

const { settings, cleanup } = testSettings();
cleanup();
const catalog = settings.statuses;

describe('statuses', () => {
  it('labels every workshop status as the workshop does', () => {
    expect(statusLabel(catalog, 100)).toBe('Order received and being prepared');
    expect(statusLabel(catalog, 150)).toBe('We are checking your order');
    expect(statusLabel(catalog, 200)).toBe('Your pizza is in the oven');
    expect(statusLabel(catalog, 300)).toBe('Your pizza is out for delivery');
    expect(statusLabel(catalog, 999)).toBe('Your pizza was delivered');
    expect(statusLabel(catalog, 50)).toBe('Your order is delayed, bear with us!');
    expect(statusLabel(catalog, 499)).toBe('Order has been cancelled');
  });

  it('has a label for a status it does not know', () => {
    expect(statusLabel(catalog, 12345)).toBe('Oops! Unknown status');
    expect(statusName(catalog, 12345)).toBeUndefined();
  });

  it('treats delivered and cancelled as complete', () => {
    expect(isComplete(catalog, 999)).toBe(true);
    expect(isComplete(catalog, 499)).toBe(true);
    expect(isComplete(catalog, 300)).toBe(false);
  });
});
