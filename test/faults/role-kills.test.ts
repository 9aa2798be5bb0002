import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstWorkAfter, reportAndCheck, ViewWatcher } from '../support/faults-checks.js';
import { OrderPlacer, waitForDelivered } from '../support/faults-orders.js';
import { type FaultRole, FaultShop } from '../support/faults-shop.js';
import { kafkaBootstrap } from '../support/kafka.js';

const ORDERS_PER_TRIAL = 24;
const KILL_AFTER_ORDERS = 8;
const DOWN_MS = 2_000;
// A crashed member holds its partitions until its session times out; then the backlog drains.
const DELIVERY_TIMEOUT_MS = 90_000;

describe('kill -9 of one role mid-flow, then a restart, while orders keep coming', () => {
  let shop: FaultShop;
  let placer: OrderPlacer;

  beforeAll(async () => {
    shop = await FaultShop.create({ bootstrap: kafkaBootstrap() });
    const roles: FaultRole[] = ['status', 'deliver', 'bake', 'assemble', 'serve'];
    await Promise.all(roles.map((role) => shop.start(role)));
    placer = new OrderPlacer(shop.serveUrl);
  }, 120_000);

  afterAll(async () => {
    await shop?.close();
  }, 60_000);

  it.each<FaultRole>(['assemble', 'bake', 'deliver', 'status', 'serve'])(
    'every order survives kill -9 of %s',
    async (role) => {
      const trialStart = Date.now();
      const deadLettersBefore = shop.recorder.topic(shop.topics.deadLetter).length;
      const watcher = new ViewWatcher(shop);
      const victim = shop.current(role);
      const before = placer.placed.size;
      const failuresBefore = placer.failures;

      const placing = placer.place({ count: ORDERS_PER_TRIAL, intervalMs: 150, timeoutMs: 60_000 });
      await placer.placedAtLeast(before + KILL_AFTER_ORDERS);
      await victim.kill9();
      // The role's downtime: its length defines the fault, it waits for nothing.
      await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
      const restarted = await shop.start(role);
      const orderIds = await placing;

      const { missing } = await waitForDelivered(shop, orderIds, DELIVERY_TIMEOUT_MS);
      watcher.stop();
      const killedAt = victim.killedAt ?? trialStart;
      reportAndCheck(shop, {
        trial: `kill -9 ${role}`,
        orderIds,
        deadLetters: shop.recorder.topic(shop.topics.deadLetter).length - deadLettersBefore,
        failoverMs: { [`${role} restarted, first order`]: firstWorkAfter(killedAt, restarted) },
        watcher,
        notes: [
          `${placer.failures - failuresBefore} order attempts failed (last: ${placer.lastFailure.slice(0, 120) || 'none'})`,
          `${missing.length} orders undelivered when the wait ended`,
        ],
      });
      expect.soft(orderIds.length, 'orders placed in the trial').toBe(ORDERS_PER_TRIAL);
    },
    150_000,
  );
});
