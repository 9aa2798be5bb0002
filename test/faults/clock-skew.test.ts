import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingVariableName } from '../../src/config/environment.js';
import { duplicates, reportAndCheck } from '../support/faults-checks.js';
import { skewedClock, startWithEnv } from '../support/faults-env.js';
import { OrderPlacer, waitForDelivered } from '../support/faults-orders.js';
import { FaultShop, type RoleProcess } from '../support/faults-shop.js';
import { kafkaBootstrap } from '../support/kafka.js';

const TEN_MINUTES_MS = 600_000;
const STUCK_LINE = /flagged as stuck/;

/** How far a topic's events were stamped from when the recorder saw them: the producing role's skew, in ms. */
function medianSkewMs(shop: FaultShop, topic: string): number {
  const skews = shop.recorder
    .topic(topic)
    .map((record) => (JSON.parse(String(record.value)) as { timestamp: number }).timestamp - record.seenAt)
    .sort((a, b) => a - b);
  return skews[Math.floor(skews.length / 2)] ?? Number.NaN;
}

/**
 * Issue 20, part 5: roles on hosts whose clocks are 10 minutes off, under
 * libfaketime (the wall clock only: FAKETIME_DONT_FAKE_MONOTONIC). bake runs
 * 10 minutes ahead and deliver 10 minutes behind, so an order's `delivered`
 * is stamped 20 minutes before its `baked`. The status role runs 10 minutes
 * ahead of the web app that shares its view file, so every order the web app
 * placed looks 10 minutes old to it, and its watchdog looks every 1.2 s.
 * Nothing may be lost, no status may move backward, no order may be flagged
 * stuck, and in exactly-once mode no output may be written twice.
 */
describe.each(['at-least-once', 'exactly-once'] as const)('clock skew (%s)', (processing) => {
  let shop: FaultShop;
  let status: RoleProcess;

  beforeAll(async () => {
    shop = await FaultShop.create({ bootstrap: kafkaBootstrap(), processing });
    const watchdogOften = { [settingVariableName('state-store-orders', 'status_watchdog_minutes')]: '0.02' };
    status = await startWithEnv(shop, 'status', { ...skewedClock('+10m'), ...watchdogOften });
    await Promise.all([
      startWithEnv(shop, 'deliver', skewedClock('-10m')),
      startWithEnv(shop, 'bake', skewedClock('+10m')),
      shop.start('assemble'),
      shop.start('serve'),
    ]);
  }, 120_000);

  afterAll(async () => {
    await shop?.close();
  }, 60_000);

  it('loses nothing, moves no status backward, flags nothing stuck, duplicates nothing in exactly-once', async () => {
    const placer = new OrderPlacer(shop.serveUrl);
    const orderIds = await placer.place({ count: 30, intervalMs: 150, timeoutMs: 90_000 });
    const { missing } = await waitForDelivered(shop, orderIds, 90_000);
    // The skew is real: events carry their role's clock.
    const skew = {
      assembled: medianSkewMs(shop, shop.topics.assembled),
      baked: medianSkewMs(shop, shop.topics.baked),
      delivered: medianSkewMs(shop, shop.topics.delivered),
    };
    expect(Math.abs(skew.assembled)).toBeLessThan(60_000);
    expect(Math.abs(skew.baked - TEN_MINUTES_MS)).toBeLessThan(60_000);
    expect(Math.abs(skew.delivered + TEN_MINUTES_MS)).toBeLessThan(60_000);
    const stuck = status.logLines().filter((line) => STUCK_LINE.test(String(line.msg ?? '')));
    const dups = duplicates(shop, orderIds);

    reportAndCheck(shop, {
      trial: `clock skew ${processing} (bake +10m, deliver -10m, status +10m)`,
      orderIds,
      deadLetters: shop.recorder.topic(shop.topics.deadLetter).length,
      failoverMs: {},
      notes: [
        `event stamps vs the recorder's clock, median s: assembled ${Math.round(skew.assembled / 1000)}, ` +
          `baked ${Math.round(skew.baked / 1000)}, delivered ${Math.round(skew.delivered / 1000)}`,
        `${stuck.length} stuck warnings; ${missing.length} orders missing when the wait ended`,
      ],
    });
    expect(
      stuck.map((line) => line.orderId),
      'orders flagged stuck',
    ).toEqual([]);
    expect(shop.recorder.topic(shop.topics.deadLetter), 'dead letters').toEqual([]);
    if (processing === 'exactly-once') {
      expect(dups).toEqual({ ordered: 0, assembled: 0, baked: 0, pending: 0, delivered: 0 });
    }
  }, 240_000);
});
