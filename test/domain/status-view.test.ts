import { describe, expect, it } from 'vitest';
import { applyStatusEvent, isStuck, type OrderStatus } from '../../src/domain/status-view.js';
import { testSettings } from '../support/settings.js';

const { settings, cleanup } = testSettings();
cleanup();
const catalog = settings.statuses;
const at = (status: number, eventTimestamp: number, updatedAt = eventTimestamp): OrderStatus => ({
  status,
  eventStatus: status,
  eventTimestamp,
  updatedAt,
});

describe('status view rules', () => {
  it('applies a newer event', () => {
    expect(applyStatusEvent(at(100, 1_000), { status: 200, timestamp: 2_000 }, catalog, 5_000)).toEqual({
      status: 200,
      eventStatus: 200,
      eventTimestamp: 2_000,
      updatedAt: 5_000,
    });
  });

  it('never goes backward: an older event arriving late is ignored', () => {
    expect(applyStatusEvent(at(300, 3_000), { status: 200, timestamp: 2_000 }, catalog, 5_000)).toBeUndefined();
  });

  it('ignores a duplicate of the event already applied', () => {
    expect(applyStatusEvent(at(200, 2_000), { status: 200, timestamp: 2_000 }, catalog, 5_000)).toBeUndefined();
  });

  it('breaks a timestamp tie toward the further status', () => {
    expect(applyStatusEvent(at(200, 2_000), { status: 300, timestamp: 2_000 }, catalog, 5_000)?.status).toBe(300);
    expect(applyStatusEvent(at(300, 2_000), { status: 200, timestamp: 2_000 }, catalog, 5_000)).toBeUndefined();
  });

  it('lets later progress override the watchdog’s stuck', () => {
    const stuck: OrderStatus = { status: 50, eventStatus: 200, eventTimestamp: 2_000, updatedAt: 60_000 };
    expect(applyStatusEvent(stuck, { status: 300, timestamp: 2_500 }, catalog, 61_000)?.status).toBe(300);
    expect(applyStatusEvent(stuck, { status: 200, timestamp: 2_000 }, catalog, 61_000)).toBeUndefined();
  });

  it('keeps a completed order complete', () => {
    expect(applyStatusEvent(at(999, 9_000), { status: 300, timestamp: 10_000 }, catalog, 11_000)).toBeUndefined();
    expect(applyStatusEvent(at(499, 9_000), { status: 200, timestamp: 10_000 }, catalog, 11_000)).toBeUndefined();
  });

  it('shows pending when delivery reports it after baked, even within the same millisecond', () => {
    expect(applyStatusEvent(at(300, 3_000), { status: 150, timestamp: 3_100 }, catalog, 4_000)?.status).toBe(150);
    expect(applyStatusEvent(at(300, 3_000), { status: 150, timestamp: 3_000 }, catalog, 4_000)?.status).toBe(150);
    expect(applyStatusEvent(at(150, 3_000), { status: 300, timestamp: 3_000 }, catalog, 4_000)).toBeUndefined();
  });

  it('flags an order stuck only after the timeout, and never a complete one', () => {
    expect(isStuck(at(200, 0, 0), catalog, 44_999, 45_000)).toBe(false);
    expect(isStuck(at(200, 0, 0), catalog, 45_000, 45_000)).toBe(true);
    expect(isStuck(at(999, 0, 0), catalog, 99_000, 45_000)).toBe(false);
    expect(isStuck({ ...at(200, 0, 0), status: 50 }, catalog, 99_000, 45_000)).toBe(false);
  });
});
