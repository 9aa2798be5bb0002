import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duplicates, reportAndCheck } from '../support/faults-checks.js';
import { OrderPlacer, waitForDelivered } from '../support/faults-orders.js';
import { type FaultRole, FaultShop } from '../support/faults-shop.js';
import { kafkaBootstrap } from '../support/kafka.js';

const ROLES: FaultRole[] = ['status', 'deliver', 'bake', 'assemble', 'serve'];

/**
 * `[pizza-shop] processing = exactly-once`: each role consumes, works and
 * produces in a Kafka transaction that also commits its input offsets. The
 * fault suite's recorder reads with read_committed, as a downstream user would.
 * After any kill, every stage output topic holds each order once.
 */
describe('exactly-once: kill -9 leaves no duplicate on any stage output topic', () => {
  let shop: FaultShop;
  let placer: OrderPlacer;

  beforeAll(async () => {
    shop = await FaultShop.create({ bootstrap: kafkaBootstrap(), processing: 'exactly-once' });
    await Promise.all(ROLES.map((role) => shop.start(role)));
    placer = new OrderPlacer(shop.serveUrl);
  }, 120_000);

  afterAll(async () => {
    await shop?.close();
  }, 60_000);

  it.each<FaultRole>(['assemble', 'bake', 'deliver'])(
    'kill -9 of %s mid-flow: 0 lost, 0 duplicates',
    async (role) => {
      const victim = shop.current(role);
      const before = placer.placed.size;
      const placing = placer.place({ count: 16, intervalMs: 100, timeoutMs: 60_000 });
      await placer.placedAtLeast(before + 6);
      await victim.kill9();
      await shop.start(role);
      const orderIds = await placing;
      await waitForDelivered(shop, orderIds, 90_000);
      reportAndCheck(shop, {
        trial: `exactly-once kill -9 ${role}`,
        orderIds,
        deadLetters: 0,
        failoverMs: {},
        notes: [],
      });
      expect(duplicates(shop, orderIds)).toEqual({ ordered: 0, assembled: 0, baked: 0, pending: 0, delivered: 0 });
    },
    150_000,
  );
});
