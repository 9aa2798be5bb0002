import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type KafkaBroker, startKafkaBroker } from '../../tools/kafka/broker.js';
import { duplicates, reportAndCheck } from '../support/faults-checks.js';
import { OrderPlacer, waitForDelivered } from '../support/faults-orders.js';
import { type FaultRole, FaultShop, reservePort } from '../support/faults-shop.js';

const ROLES: FaultRole[] = ['status', 'deliver', 'bake', 'assemble', 'serve'];
const ORDERS = 30;
const BROKER_DOWN_MS = 6_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a restarted broker's log says of the transactions the kill caught between their commit and their markers. */
function markerFigures(broker: KafkaBroker) {
  const text = existsSync(broker.serverLog) ? readFileSync(broker.serverLog, 'utf8') : '';
  if (process.env.PIZZA_FAULTS_KEEP) writeFileSync(join(tmpdir(), `pizza-faults-eos-markers-${Date.now()}.log`), text);
  const count = (pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line)).length;
  return {
    // Loaded from the transaction log half done: the coordinator sends their markers again.
    completedAtLoad: count(/Sending .* transaction markers for .*(PrepareCommit|PrepareAbort)/),
    // Markers the coordinator gave up on ("Couldn't find leader endpoint ... can be skipped").
    skipped: count(/Couldn't find leader endpoint/),
  };
}

/**
 * Issue 20, part 10: a broker that wrote some of a transaction's markers
 * before it died. Every role commits a transaction every 100 ms that spans
 * several partitions (its outputs on 4 partitions per topic, and the group's
 * offsets), so a kill -9 of the broker catches transactions between their
 * commit decision and their last marker. After each restart the coordinator
 * finishes them from its log. Killed twice; after both, nothing is lost and
 * no stage topic holds an order twice (read committed).
 */
describe('exactly-once: the broker killed -9 twice while transactions commit', () => {
  it('loses nothing and leaves no duplicate among committed records', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pizza-faults-eos-markers-'));
    let broker: KafkaBroker = await startKafkaBroker({ dataDir, port: await reservePort() });
    let shop: FaultShop | undefined;
    onTestFinished(async () => {
      await shop?.close();
      await broker.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    shop = await FaultShop.create({ bootstrap: broker.bootstrapServers, processing: 'exactly-once' });
    await Promise.all(ROLES.map((role) => shop?.start(role)));
    const placer = new OrderPlacer(shop.serveUrl);
    const placing = placer.place({ count: ORDERS, intervalMs: 100, maxInFlight: 8, timeoutMs: 150_000 });

    const outages: number[] = [];
    const markers: Array<ReturnType<typeof markerFigures>> = [];
    for (const killAfter of [8, 20]) {
      await placer.placedAtLeast(killAfter, 120_000);
      const killedAt = Date.now();
      await broker.kill();
      // The outage itself: its length defines the fault, it waits for nothing.
      await sleep(BROKER_DOWN_MS);
      broker = await broker.restart();
      outages.push(Date.now() - killedAt);
      // The coordinator loads its log as the broker starts; give the markers a moment to be sent.
      await sleep(3_000);
      markers.push(markerFigures(broker));
    }
    const orderIds = await placing;
    const { missing, onTopic, inView } = await waitForDelivered(shop, orderIds, 150_000);
    reportAndCheck(shop, {
      trial: 'exactly-once kill -9 broker twice during commits',
      orderIds,
      deadLetters: 0,
      failoverMs: Object.fromEntries(outages.map((ms, index) => [`broker ${index + 1} back`, ms])),
      notes: [
        `transactions the restarted broker completed from its log: ${markers.map((m) => m.completedAtLoad).join(' and ')}; ` +
          `markers it skipped: ${markers.map((m) => m.skipped).join(' and ')}`,
        `${missing.length} orders undelivered when the wait ended: ` +
          `${orderIds.filter((id) => !onTopic.has(id)).length} not on pizza-delivered, ` +
          `${orderIds.filter((id) => !inView.has(id)).length} not in the view`,
      ],
    });
    expect.soft(orderIds.length, 'orders placed in the trial').toBe(ORDERS);
    expect(duplicates(shop, orderIds)).toEqual({ ordered: 0, assembled: 0, baked: 0, pending: 0, delivered: 0 });
  }, 360_000);
});
