import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type KafkaBroker, startKafkaBroker } from '../../tools/kafka/broker.js';
import { reportAndCheck, ViewWatcher } from '../support/faults-checks.js';
import { OrderPlacer, waitForDelivered } from '../support/faults-orders.js';
import { type FaultRole, FaultShop, reservePort } from '../support/faults-shop.js';

const ORDERS = 30;
const KILL_AFTER_ORDERS = 10;
const BROKER_DOWN_MS = 12_000;

describe('kill -9 of the broker mid-flow, back on the same port and data 12 s later', () => {
  it('delivers every order placed before, during and after the outage', async () => {
    // Its own broker: the suite's shared one must never go down.
    const dataDir = await mkdtemp(join(tmpdir(), 'pizza-faults-broker-'));
    let broker: KafkaBroker = await startKafkaBroker({ dataDir, port: await reservePort() });
    let shop: FaultShop | undefined;
    onTestFinished(async () => {
      await shop?.close();
      await broker.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    shop = await FaultShop.create({ bootstrap: broker.bootstrapServers });
    const roles: FaultRole[] = ['status', 'deliver', 'bake', 'assemble', 'serve'];
    await Promise.all(roles.map((role) => shop?.start(role)));
    const watcher = new ViewWatcher(shop);
    const placer = new OrderPlacer(shop.serveUrl);

    const placing = placer.place({ count: ORDERS, intervalMs: 200, maxInFlight: 8, timeoutMs: 120_000 });
    await placer.placedAtLeast(KILL_AFTER_ORDERS);
    const killedAt = Date.now();
    await broker.kill();
    // The outage itself: its length defines the fault, it waits for nothing.
    await new Promise((resolve) => setTimeout(resolve, BROKER_DOWN_MS));
    broker = await broker.restart();
    const backAt = Date.now();
    const orderIds = await placing;

    const { missing } = await waitForDelivered(shop, orderIds, 120_000);
    watcher.stop();
    const deliveredAfter = shop.recorder
      .topic(shop.topics.delivered)
      .filter((record) => record.timestamp >= backAt)
      .map((record) => record.timestamp)
      .sort((a, b) => a - b)[0];
    reportAndCheck(shop, {
      trial: 'kill -9 broker',
      orderIds,
      deadLetters: shop.recorder.topic(shop.topics.deadLetter).length,
      failoverMs: {
        'broker back': backAt - killedAt,
        'first delivery after kill': deliveredAfter === undefined ? undefined : deliveredAfter - killedAt,
      },
      watcher,
      notes: [
        `${placer.failures} order attempts failed (last: ${placer.lastFailure.slice(0, 160) || 'none'})`,
        `${missing.length} orders undelivered when the wait ended`,
      ],
    });
    expect.soft(orderIds.length, 'orders placed in the trial').toBe(ORDERS);
  }, 300_000);
});
