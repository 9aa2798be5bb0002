import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaBroker, startKafkaBroker } from '../../tools/kafka/broker.js';
import { duplicates, reportAndCheck, ViewWatcher } from '../support/faults-checks.js';
import { OrderPlacer, waitForDelivered } from '../support/faults-orders.js';
import { type FaultRole, FaultShop, reservePort } from '../support/faults-shop.js';
import { type ToxicProxy, Toxiproxy } from '../support/toxiproxy.js';

const ROLES: FaultRole[] = ['status', 'deliver', 'bake', 'assemble', 'serve'];
/** The role whose link to the broker the trials break; every other role connects directly. */
const VICTIM: FaultRole = 'bake';
const CUT_MS = 30_000;
const LATENCY_MS = 500;
const LATENCY_FOR_MS = 15_000;
const RESET_BURSTS = 6;
const RESET_BURST_MS = 300;
const RESET_EVERY_MS = 2_000;
/** Records already on their way when a cut begins reach the broker within this; later ones cannot. */
const CUT_SETTLE_MS = 5_000;

type Processing = 'at-least-once' | 'exactly-once';

interface FaultFigures {
  failoverMs: Record<string, number | undefined>;
  notes: string[];
}

/**
 * Network faults on one role's link, through Toxiproxy. The trial's own
 * broker has an extra listener, PROXIED, that advertises the proxy's port:
 * bake bootstraps through the proxy and is told to reach the broker through
 * it too, so a fault in the proxy cuts bake alone, while the other roles (and
 * the suite's recorder) connect straight to the broker.
 */
describe(`network faults on ${VICTIM}'s link to the broker (Toxiproxy)`, () => {
  let broker: KafkaBroker;
  let toxiproxy: Toxiproxy;
  let proxy: ToxicProxy;

  beforeAll(async () => {
    const advertised = await reservePort();
    broker = await startKafkaBroker({ proxyListener: { advertisedPort: () => advertised } });
    if (!broker.proxied) throw new Error('the broker has no PROXIED listener');
    toxiproxy = await Toxiproxy.start();
    proxy = await toxiproxy.createProxy(`${VICTIM}-kafka`, `127.0.0.1:${broker.proxied.port}`, advertised);
  }, 180_000);

  afterAll(async () => {
    await toxiproxy?.stop();
    await broker?.stop();
  }, 60_000);

  describe.each<Processing>(['at-least-once', 'exactly-once'])('%s', (processing) => {
    let shop: FaultShop;
    let placer: OrderPlacer;

    beforeAll(async () => {
      shop = await FaultShop.create({
        bootstrap: broker.bootstrapServers,
        processing,
        roleBootstrap: { [VICTIM]: proxy.address },
      });
      await Promise.all(ROLES.map((role) => shop.start(role)));
      placer = new OrderPlacer(shop.serveUrl);
    }, 120_000);

    afterAll(async () => {
      // Healed first, so a trial that failed mid-fault still lets bake stop cleanly.
      await toxiproxy?.reset();
      await shop?.close();
    }, 60_000);

    /**
     * Places `count` orders at `intervalMs` and runs `fault` once `faultAfter` of them are placed.
     * `fault` resolves once the link is healed, with what to measure once every order is through.
     */
    async function trial(
      name: string,
      orders: { count: number; intervalMs: number; faultAfter: number },
      fault: (startedAt: number) => Promise<() => FaultFigures>,
    ): Promise<void> {
      const startedAt = Date.now();
      const watcher = new ViewWatcher(shop);
      const before = placer.placed.size;
      const placing = placer.place({ count: orders.count, intervalMs: orders.intervalMs, timeoutMs: 120_000 });
      await placer.placedAtLeast(before + orders.faultAfter);
      const measure = await fault(startedAt);
      const orderIds = await placing;
      const { missing, onTopic, inView } = await waitForDelivered(shop, orderIds, 90_000);
      watcher.stop();
      const { failoverMs, notes } = measure();
      reportAndCheck(shop, {
        trial: `${processing} ${name}`,
        orderIds,
        deadLetters: shop.recorder.topic(shop.topics.deadLetter).length,
        failoverMs,
        watcher,
        notes: [
          ...notes,
          `${placer.failures} order attempts failed so far (last: ${placer.lastFailure.slice(0, 160) || 'none'})`,
          `${missing.length} orders undelivered when the wait ended: ` +
            `${orderIds.filter((id) => !onTopic.has(id)).length} not on pizza-delivered, ` +
            `${orderIds.filter((id) => !inView.has(id)).length} not in the view`,
        ],
      });
      expect.soft(orderIds.length, 'orders placed in the trial').toBe(orders.count);
      if (processing === 'exactly-once') {
        expect(duplicates(shop, orderIds)).toEqual({ ordered: 0, assembled: 0, baked: 0, pending: 0, delivered: 0 });
      }
    }

    /** Records the victim wrote to its output topic that the broker took between two moments. */
    const bakedSeenBetween = (from: number, to: number) =>
      shop.recorder.topic(shop.topics.baked).filter((record) => record.seenAt >= from && record.seenAt < to).length;
    const firstBakedSeenAfter = (at: number) =>
      shop.recorder
        .topic(shop.topics.baked)
        .map((record) => record.seenAt)
        .filter((seenAt) => seenAt >= at)
        .sort((a, b) => a - b)[0];
    /** What the victim logged in a stretch (its role's log and its Kafka client's), and its outage reports. */
    const victimLog = (from: number, to: number) => {
      const run = shop.current(VICTIM);
      const lines = [...run.logLines(), ...run.logLines('kafka')].filter(
        (line) => Number(line.time) >= from && Number(line.time) < to,
      );
      const warnings = lines.filter((line) => Number(line.level) >= 40);
      const messages = lines.map((line) => String(line.msg));
      const outage = messages.filter((msg) => /^Kafka is (unreachable|still unreachable|reachable again)/.test(msg));
      const failedTransactions = messages.filter((msg) => msg.startsWith('a transaction failed')).length;
      // Exactly-once: aborted because the group took the partitions back while they were under way.
      const takenBack = messages.filter((msg) => msg.startsWith('partitions taken back')).length;
      const rebalances = messages.filter((msg) => msg === 'partitions revoked').length;
      return (
        `${VICTIM} logged ${lines.length} lines (${warnings.length} warnings), ` +
        `outage reports: ${outage.map((msg) => `"${msg.slice(0, 40)}"`).join(', ') || 'none'}, ` +
        `failed transactions: ${failedTransactions}, partitions revoked: ${rebalances}, ` +
        `transactions aborted as taken back: ${takenBack}`
      );
    };
    /**
     * The median time from an order's record on pizza-assembled to its record on pizza-baked, as
     * the recorder saw them (read-committed), for orders assembled in a stretch: bake's stage plus its link.
     */
    const bakeStageMs = (from: number, to: number) => {
      const baked = new Map(shop.recorder.topic(shop.topics.baked).map((r) => [r.key?.toString('utf8'), r.seenAt]));
      const spans = shop.recorder
        .topic(shop.topics.assembled)
        .filter((record) => record.seenAt >= from && record.seenAt < to)
        .map((record) => (baked.get(record.key?.toString('utf8')) ?? Number.NaN) - record.seenAt)
        .filter((span) => Number.isFinite(span))
        .sort((a, b) => a - b);
      return spans.length === 0 ? 'none' : `${spans[Math.floor(spans.length / 2)]} ms (${spans.length} orders)`;
    };

    it(`${VICTIM} cut off from the broker for 30 s (packets dropped both ways), then healed: nothing lost`, async () => {
      await trial('network cut 30 s', { count: 24, intervalMs: 1_500, faultAfter: 5 }, async () => {
        // A black hole, as a partition is: connections stay open, and nothing gets through either way.
        const toxics = [
          await proxy.addToxic({ type: 'timeout', attributes: { timeout: 0 } }, { stream: 'upstream' }),
          await proxy.addToxic({ type: 'timeout', attributes: { timeout: 0 } }, { stream: 'downstream' }),
        ];
        const cutAt = Date.now();
        // The cut itself: its length defines the fault, it waits for nothing.
        await sleep(CUT_MS);
        const healAt = Date.now();
        for (const toxic of toxics) await proxy.removeToxic(toxic);
        return () => {
          // The proof that the proxy was on bake's path: while cut, none of its outputs reached the broker.
          const duringCut = bakedSeenBetween(cutAt + CUT_SETTLE_MS, healAt);
          expect.soft(duringCut, `${shop.topics.baked} records the broker took while ${VICTIM} was cut off`).toBe(0);
          const firstAfter = firstBakedSeenAfter(healAt);
          return {
            failoverMs: { cut: healAt - cutAt, 'first baked after heal': firstAfter && firstAfter - healAt },
            notes: [`from the cut until every order was through, ${victimLog(cutAt, Date.now())}`],
          };
        };
      });
    }, 180_000);

    it(`${LATENCY_MS} ms of latency on ${VICTIM}'s link for ${LATENCY_FOR_MS / 1000} s: nothing lost`, async () => {
      await trial(`latency ${LATENCY_MS} ms`, { count: 20, intervalMs: 1_000, faultAfter: 4 }, async (startedAt) => {
        const toxic = await proxy.addToxic({ type: 'latency', attributes: { latency: LATENCY_MS } });
        const slowAt = Date.now();
        // The stretch of latency: its length defines the fault.
        await sleep(LATENCY_FOR_MS);
        await proxy.removeToxic(toxic);
        const fastAt = Date.now();
        return () => ({
          failoverMs: { latency: fastAt - slowAt },
          notes: [
            `${bakedSeenBetween(slowAt, fastAt)} ${shop.topics.baked} records reached the broker during the latency`,
            `assembled to baked, median: ${bakeStageMs(slowAt, fastAt)} during the latency, ` +
              `${bakeStageMs(startedAt, slowAt)} before it, ${bakeStageMs(fastAt, Date.now())} after it`,
            `during the latency, ${victimLog(slowAt, fastAt)}`,
          ],
        });
      });
    }, 180_000);

    it(`connections of ${VICTIM} reset (TCP RST) in bursts while orders flow: nothing lost`, async () => {
      await trial('connection resets', { count: 20, intervalMs: 750, faultAfter: 4 }, async () => {
        const resetsFrom = Date.now();
        for (let burst = 0; burst < RESET_BURSTS; burst += 1) {
          // Both ways: a request or a response in flight (a produce, an offset commit, an EndTxn) ends in a reset.
          const toxics = [
            await proxy.addToxic({ type: 'reset_peer', attributes: { timeout: 0 } }, { stream: 'upstream' }),
            await proxy.addToxic({ type: 'reset_peer', attributes: { timeout: 0 } }, { stream: 'downstream' }),
          ];
          // The burst and the pause between bursts define the fault.
          await sleep(RESET_BURST_MS);
          for (const toxic of toxics) await proxy.removeToxic(toxic);
          await sleep(RESET_EVERY_MS - RESET_BURST_MS);
        }
        const resetsTo = Date.now();
        return () => ({
          failoverMs: { resets: resetsTo - resetsFrom },
          notes: [
            `${RESET_BURSTS} bursts of ${RESET_BURST_MS} ms, one every ${RESET_EVERY_MS} ms`,
            `${bakedSeenBetween(resetsFrom, resetsTo)} ${shop.topics.baked} records reached the broker meanwhile`,
            `from the first burst until every order was through, ${victimLog(resetsFrom, Date.now())}`,
          ],
        });
      });
    }, 180_000);
  });
});
