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

/**
 * What the broker's log (one file across its restarts) says of the transactions
 * the kills caught: ongoing ones it rolled back when their timeout passed, any
 * loaded half-way through their commit or abort, and markers it gave up on.
 */
function markerFigures(broker: KafkaBroker) {
  const text = existsSync(broker.serverLog) ? readFileSync(broker.serverLog, 'utf8') : '';
  if (process.env.PIZZA_FAULTS_KEEP) writeFileSync(join(tmpdir(), `pizza-faults-eos-markers-${Date.now()}.log`), text);
  const count = (pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line)).length;
  return {
    rolledBack: count(/Completed rollback of ongoing transaction/),
    prepared: count(/PrepareCommit|PrepareAbort/),
    skipped: count(/Couldn't find leader endpoint/),
  };
}

/** What the roles logged of the transactions the outages broke. */
function roleFigures(shop: FaultShop) {
  const lines = (['assemble', 'bake', 'deliver'] as const).flatMap((role) => shop.current(role).logLines());
  const count = (msg: string) => lines.filter((line) => line.msg === msg).length;
  return {
    failed: count('a transaction failed; working on its records again from the last commit'),
    replaced: count('transactional producer replaced'),
    settled: count('committed offsets stay unsettled: ending the transaction a broker left open under this producer'),
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
    for (const killAfter of [8, 20]) {
      await placer.placedAtLeast(killAfter, 120_000);
      const killedAt = Date.now();
      await broker.kill();
      // The outage itself: its length defines the fault, it waits for nothing.
      await sleep(BROKER_DOWN_MS);
      broker = await broker.restart();
      outages.push(Date.now() - killedAt);
    }
    const orderIds = await placing;
    const { missing, onTopic, inView } = await waitForDelivered(shop, orderIds, 150_000);
    const broken = roleFigures(shop);
    const last = markerFigures(broker);
    reportAndCheck(shop, {
      trial: 'exactly-once kill -9 broker twice during commits',
      orderIds,
      deadLetters: 0,
      failoverMs: Object.fromEntries(outages.map((ms, index) => [`broker ${index + 1} back`, ms])),
      notes: [
        `broker log after both restarts: ${last.rolledBack} ongoing transactions rolled back at their timeout, ` +
          `${last.prepared} lines on transactions loaded half-way through their commit or abort, ` +
          `${last.skipped} markers skipped`,
        `roles: ${broken.failed} transactions failed and were redone from the last commit, ` +
          `${broken.replaced} transactional producers replaced, ${broken.settled} settles of offsets left pending`,
        `${missing.length} orders undelivered when the wait ended: ` +
          `${orderIds.filter((id) => !onTopic.has(id)).length} not on pizza-delivered, ` +
          `${orderIds.filter((id) => !inView.has(id)).length} not in the view`,
      ],
    });
    expect.soft(orderIds.length, 'orders placed in the trial').toBe(ORDERS);
    expect(duplicates(shop, orderIds)).toEqual({ ordered: 0, assembled: 0, baked: 0, pending: 0, delivered: 0 });
  }, 360_000);
});
