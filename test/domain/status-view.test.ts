import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyStatusEvent, isStuck, lifecycleRank, type OrderStatus } from '../../src/domain/status-view.js';
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

// Default ids: stuck 50, placed 100, pending 150, assembled 200, baked 300,
// unknown 410, something_wrong 430, cancelled 499, delivered 999.
describe('status view rules', () => {
  it('ranks statuses along the lifecycle, not by id: pending comes after baked', () => {
    expect([100, 200, 300, 150, 430, 999].map((id) => lifecycleRank(catalog, id))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(lifecycleRank(catalog, 499)).toBe(6);
  });

  it('gives no rank to stuck, to the unknown status or to an id the settings do not know', () => {
    expect(lifecycleRank(catalog, 50)).toBeUndefined();
    expect(lifecycleRank(catalog, 410)).toBeUndefined();
    expect(lifecycleRank(catalog, 12_345)).toBeUndefined();
  });

  it('applies the first event of an order and the next step after it', () => {
    expect(applyStatusEvent(undefined, { status: 100, timestamp: 1_000 }, catalog, 5_000)?.status).toBe(100);
    expect(applyStatusEvent(at(100, 1_000), { status: 200, timestamp: 2_000 }, catalog, 5_000)).toEqual({
      status: 200,
      eventStatus: 200,
      eventTimestamp: 2_000,
      updatedAt: 5_000,
    });
  });

  it('ignores a duplicate assembled with a newer timestamp after baked (a stage redone after a crash)', () => {
    expect(applyStatusEvent(at(300, 3_000), { status: 200, timestamp: 9_000 }, catalog, 10_000)).toBeUndefined();
  });

  it('ignores a duplicate of the current step, whatever its timestamp', () => {
    expect(applyStatusEvent(at(200, 2_000), { status: 200, timestamp: 2_000 }, catalog, 5_000)).toBeUndefined();
    expect(applyStatusEvent(at(200, 2_000), { status: 200, timestamp: 4_000 }, catalog, 5_000)).toBeUndefined();
    expect(applyStatusEvent(at(200, 2_000), { status: 200, timestamp: 1_000 }, catalog, 5_000)).toBeUndefined();
  });

  it('applies delivered stamped earlier than the current baked: the step decides, not the clock', () => {
    expect(applyStatusEvent(at(300, 3_000), { status: 999, timestamp: 2_500 }, catalog, 4_000)).toEqual({
      status: 999,
      eventStatus: 999,
      eventTimestamp: 2_500,
      updatedAt: 4_000,
    });
  });

  it('applies pending after baked, and ignores baked after pending', () => {
    expect(applyStatusEvent(at(300, 3_000), { status: 150, timestamp: 3_100 }, catalog, 4_000)?.status).toBe(150);
    expect(applyStatusEvent(at(300, 3_000), { status: 150, timestamp: 2_900 }, catalog, 4_000)?.status).toBe(150);
    expect(applyStatusEvent(at(150, 3_000), { status: 300, timestamp: 3_500 }, catalog, 4_000)).toBeUndefined();
  });

  it('ignores anything after delivered or cancelled', () => {
    for (const done of [999, 499]) {
      for (const status of [100, 200, 300, 150, 430, 999, 499]) {
        expect(applyStatusEvent(at(done, 9_000), { status, timestamp: 10_000 }, catalog, 11_000)).toBeUndefined();
      }
    }
  });

  it('ignores stuck and unknown status ids as events', () => {
    expect(applyStatusEvent(at(200, 2_000), { status: 50, timestamp: 3_000 }, catalog, 4_000)).toBeUndefined();
    expect(applyStatusEvent(at(200, 2_000), { status: 410, timestamp: 3_000 }, catalog, 4_000)).toBeUndefined();
    expect(applyStatusEvent(undefined, { status: 12_345, timestamp: 3_000 }, catalog, 4_000)).toBeUndefined();
  });

  it('lets a forward event replace the watchdog’s stuck, and only a forward one', () => {
    const stuck: OrderStatus = { status: 50, eventStatus: 200, eventTimestamp: 2_000, updatedAt: 60_000 };
    expect(applyStatusEvent(stuck, { status: 300, timestamp: 1_500 }, catalog, 61_000)?.status).toBe(300);
    expect(applyStatusEvent(stuck, { status: 200, timestamp: 2_500 }, catalog, 61_000)).toBeUndefined();
    expect(applyStatusEvent(stuck, { status: 100, timestamp: 2_500 }, catalog, 61_000)).toBeUndefined();
  });

  it('flags an order stuck only after the timeout, and never a complete one', () => {
    expect(isStuck(at(200, 0, 0), catalog, 44_999, 45_000)).toBe(false);
    expect(isStuck(at(200, 0, 0), catalog, 45_000, 45_000)).toBe(true);
    expect(isStuck(at(999, 0, 0), catalog, 99_000, 45_000)).toBe(false);
    expect(isStuck({ ...at(200, 0, 0), status: 50 }, catalog, 99_000, 45_000)).toBe(false);
  });
});

describe('status view rules with the status ids from the settings', () => {
  // Ids that sort against the lifecycle, and something_wrong as a completed status.
  const custom = testSettings();
  const system = join(custom.dir, 'system.ini');
  writeFileSync(
    system,
    [
      '[status-id]',
      'order_placed = 7',
      'pizza_assembled = 6',
      'pizza_baked = 5',
      'pending = 4',
      'delivered = 3',
      'something_wrong = 2',
      '[state-store-orders]',
      'status_completed_when =',
      '    delivered',
      '    something_wrong',
      '',
    ].join('\n'),
  );
  const loaded = testSettings({ systemConfig: system });
  const customCatalog = loaded.settings.statuses;
  loaded.cleanup();
  custom.cleanup();

  it('ranks by name and completion, whatever the ids', () => {
    expect([7, 6, 5, 4, 3, 2].map((id) => lifecycleRank(customCatalog, id))).toEqual([1, 2, 3, 4, 6, 6]);
    expect(lifecycleRank(customCatalog, 100)).toBeUndefined();
  });

  it('moves forward and never back with those ids', () => {
    expect(applyStatusEvent(at(5, 3_000), { status: 6, timestamp: 9_000 }, customCatalog, 10_000)).toBeUndefined();
    expect(applyStatusEvent(at(5, 3_000), { status: 4, timestamp: 3_100 }, customCatalog, 4_000)?.status).toBe(4);
    expect(applyStatusEvent(at(4, 3_000), { status: 3, timestamp: 1_000 }, customCatalog, 4_000)?.status).toBe(3);
    expect(applyStatusEvent(at(2, 3_000), { status: 3, timestamp: 4_000 }, customCatalog, 5_000)).toBeUndefined();
    expect(isStuck(at(2, 0, 0), customCatalog, 99_000, 45_000)).toBe(false);
  });
});
