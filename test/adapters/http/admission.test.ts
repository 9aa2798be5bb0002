import { afterEach, describe, expect, it, vi } from 'vitest';
import { KitchenBacklog } from '../../../src/adapters/http/admission.js';
import { OrdersStore } from '../../../src/adapters/sqlite/orders-store.js';
import type { Settings } from '../../../src/config/settings.js';
import { testSettings } from '../../support/settings.js';
import { sampleOrder } from '../../support/shop.js';
import { GOOD_PIZZA, startTestWeb, type TestWeb, WebClient } from './web-client.js';

const open: TestWeb[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((web) => web.close()));
});

/** A web host with admission on; limits not named are far above what a test sends. */
async function webHost(admission: Partial<Settings['shop']['admission']>, shop: Partial<Settings['shop']> = {}) {
  const web = await startTestWeb({
    shop: {
      admission: {
        enabled: true,
        ordersPerSessionPerMinute: 1000,
        ordersPerAddressPerMinute: 1000,
        kitchenBacklogMax: 1000,
        ...admission,
      },
      ...shop,
    },
  });
  open.push(web);
  return web;
}

async function customer(web: TestWeb, name: string, address?: string): Promise<WebClient> {
  const client = new WebClient(web.app, address);
  await client.login(name);
  return client;
}

describe('order admission: rate limits', () => {
  it('answers orders past orders_per_session_per_minute with a 429 page that says when to try again', async () => {
    const web = await webHost({ ordersPerSessionPerMinute: 3 });
    const client = await customer(web, 'Hasty');
    for (let placed = 0; placed < 3; placed += 1) expect((await client.order(GOOD_PIZZA)).statusCode).toBe(303);

    const refused = await client.order(GOOD_PIZZA);
    expect(refused.statusCode).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.body).toContain('Too many orders');
    expect(refused.body).toContain(`Wait ${retryAfter} seconds, then try again.`);
    expect(web.bus.records(web.settings.topics.ordered)).toHaveLength(3);
    expect(await web.metrics.registry.metrics()).toMatch(
      /^pizza_orders_rejected_total\{reason="too_many_per_session"\} 1$/m,
    );

    // One session's flood does not spend the allowance of the next person at the same address.
    const neighbour = await customer(web, 'Patient');
    expect((await neighbour.order(GOOD_PIZZA)).statusCode).toBe(303);
  });

  it('limits orders per client address across sessions, and leaves other addresses alone', async () => {
    const web = await webHost({ ordersPerAddressPerMinute: 4 });
    const first = await customer(web, 'One', '198.51.100.7');
    const second = await customer(web, 'Two', '198.51.100.7');
    for (const client of [first, second, first, second]) expect((await client.order(GOOD_PIZZA)).statusCode).toBe(303);

    const refused = await second.order(GOOD_PIZZA);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.body).toContain('Your address placed more orders in the last minute than one person does.');

    const elsewhere = await customer(web, 'Three', '198.51.100.8');
    expect((await elsewhere.order(GOOD_PIZZA)).statusCode).toBe(303);
  });

  it('takes every order when order_admission = false', async () => {
    const web = await webHost({ enabled: false, ordersPerSessionPerMinute: 1, kitchenBacklogMax: 1 });
    const client = await customer(web, 'Bench');
    for (let placed = 0; placed < 5; placed += 1) expect((await client.order(GOOD_PIZZA)).statusCode).toBe(303);
    const page = await client.get(String((await client.order(GOOD_PIZZA)).headers.location));
    expect(page.body).not.toContain('data-expected-wait');
  });
});

describe('order admission: the kitchen backlog', () => {
  it('refuses a new order with a 503 "The kitchen is busy" page once kitchen_backlog_max orders wait', async () => {
    // No kitchen runs here: every order placed stays waiting. At time scale 1 the oven frees a
    // place every 11.5 / 8 = 1.4375 s, so one order over the bound waits 2 s (rounded up).
    const web = await webHost({ kitchenBacklogMax: 3 }, { timeScale: 1 });
    const client = await customer(web, 'Crowded');
    const placed: string[] = [];
    for (let count = 0; count < 3; count += 1) {
      const response = await client.order(GOOD_PIZZA);
      expect(response.statusCode).toBe(303);
      placed.push(String(response.headers.location));
    }
    const lastKey = client.idempotencyKey;

    const refused = await client.order(GOOD_PIZZA);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.body).toContain('The kitchen is busy: try again in about 2 s.');
    // The page's Try again sends the same form, with its key: nothing was placed with it.
    expect(refused.body).toContain(`name="idempotencyKey" value="${client.idempotencyKey}"`);
    expect(web.bus.records(web.settings.topics.ordered)).toHaveLength(3);
    expect(await web.metrics.registry.metrics()).toMatch(/^pizza_orders_rejected_total\{reason="busy"\} 1$/m);

    // A form that already placed its order still shows that order, however long the queue.
    const again = await client.post('/orders', { idempotencyKey: lastKey, ...GOOD_PIZZA });
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe(placed[2]);

    // Once the view says one went through the oven, there is room again (within a refresh, about a second).
    const first = placed[0]?.split('/').pop() as string;
    await web.store.shared((writes) =>
      writes.applyStatus(
        first,
        { status: web.settings.statuses.ids.pizza_baked, timestamp: Date.now() },
        web.settings.statuses,
        Date.now(),
      ),
    );
    await vi.waitFor(async () => expect((await client.order(GOOD_PIZZA)).statusCode).toBe(303), {
      timeout: 5_000,
      interval: 200,
    });
  });

  it("shows an accepted order's expected wait, counting the orders ahead of it", async () => {
    const web = await webHost({}, { timeScale: 1 });
    const client = await customer(web, 'Queued');
    const pages: string[] = [];
    for (let count = 0; count < 10; count += 1) pages.push(String((await client.order(GOOD_PIZZA)).headers.location));

    const firstPage = (await client.get(pages[0] as string)).body;
    expect(firstPage).toContain('with 0 orders ahead of yours');
    const tenth = (await client.get(pages[9] as string)).body;
    expect(tenth).toContain('with 9 orders ahead of yours');
    // The 9th and 10th orders wait for the oven's 8 places: 2 × 1.4375 s more than the order's own time.
    const own = Number(/From order to door takes about (\d+) s/.exec(tenth)?.[1]);
    const expected = Number(/Expected wait: about (\d+) s/.exec(tenth)?.[1]);
    expect(expected - own).toBeGreaterThanOrEqual(2);
    expect(expected - own).toBeLessThanOrEqual(4);
  });
});

describe('KitchenBacklog', () => {
  it('counts the orders placed or assembled, in the order they came, from the view alone', async () => {
    const { settings, cleanup } = testSettings();
    const store = OrdersStore.open(':memory:');
    try {
      const { ids } = settings.statuses;
      let time = 1_000;
      const forgetAfterMs = 3_600_000;
      const backlog = new KitchenBacklog(store.timeline, settings.statuses, () => time, forgetAfterMs);
      const [a, b, c] = [sampleOrder(), sampleOrder(), sampleOrder()].map((order) => order.orderId) as [
        string,
        string,
        string,
      ];
      const place = (orderId: string) =>
        store.placeOrder(
          { ...sampleOrder(), orderId },
          { status: ids.order_placed, timestamp: time },
          settings.statuses,
          time,
        );
      const move = (orderId: string, status: number) => {
        time += 1;
        store.applyStatus(orderId, { status, timestamp: time }, settings.statuses, time);
      };
      place(a);
      place(b);
      backlog.refresh();
      expect(backlog.size).toBe(2);

      // Placed here: it waits at once, behind the two the view has.
      backlog.noteAccepted(c);
      expect(backlog.ahead(c)).toBe(2);
      place(c);

      move(a, ids.pizza_assembled);
      move(b, ids.pizza_baked);
      backlog.refresh();
      expect(backlog.size).toBe(2);
      expect(backlog.ahead(a)).toBe(0);
      expect(backlog.ahead(c)).toBe(1);
      expect(backlog.ahead(b)).toBeUndefined();

      // A long queue outlasts the watchdog: shown as delayed, a and c still wait where they were.
      time += 60_000;
      expect(store.markStuck(settings.statuses, time, 45_000, () => 60_000).sort()).toEqual([a, b, c].sort());
      backlog.refresh();
      expect(backlog.size).toBe(2);
      expect(backlog.ahead(b)).toBeUndefined();

      move(a, ids.delivered);
      backlog.refresh();
      expect(backlog.size).toBe(1);
      // Nothing more is heard of c: the view forgets it after its retention, and so does the count.
      time += forgetAfterMs + 1;
      backlog.refresh();
      expect(backlog.size).toBe(0);
    } finally {
      store.close();
      cleanup();
    }
  });
});
