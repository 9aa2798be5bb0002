import { afterEach, describe, expect, it } from 'vitest';
import { HEADERS } from '../../../src/domain/headers.js';
import { sampleOrder } from '../../support/shop.js';
import { flakyBus, GOOD_PIZZA, startTestWeb, type TestWeb, WebClient } from './web-client.js';

let web: TestWeb | undefined;
afterEach(async () => {
  await web?.close();
  web = undefined;
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const orderIdFrom = (location: unknown) => /^\/orders\/([0-9a-f]{8})$/.exec(String(location))?.[1] as string;

async function loggedIn(started: TestWeb, username = 'Ada'): Promise<WebClient> {
  const client = new WebClient(started.app);
  await client.login(username);
  return client;
}

describe('web app: one form places one order', () => {
  it('gives every menu page its own idempotency key, and lets no cache keep the page', async () => {
    web = await startTestWeb();
    const client = await loggedIn(web);
    const first = await client.get('/menu');
    const firstKey = client.idempotencyKey;
    await client.get('/menu');
    expect(firstKey).toMatch(UUID);
    expect(client.idempotencyKey).toMatch(UUID);
    expect(client.idempotencyKey).not.toBe(firstKey);
    expect(first.headers['cache-control']).toBe('no-store');
  });

  it('places one order for the same form sent twice, and sends the second to the first order', async () => {
    web = await startTestWeb();
    const client = await loggedIn(web);
    await client.get('/menu');
    const form = { ...GOOD_PIZZA, idempotencyKey: client.idempotencyKey };
    const first = await client.post('/orders', form);
    const second = await client.post('/orders', form);
    expect(first.statusCode).toBe(303);
    expect(second.statusCode).toBe(303);
    expect(second.headers.location).toBe(first.headers.location);

    const records = web.bus.records(web.settings.topics.ordered);
    expect(records).toHaveLength(1);
    const orderId = orderIdFrom(first.headers.location);
    expect(records[0]?.key).toBe(orderId);
    expect(records[0]?.headers?.[HEADERS.idempotencyKey]?.toString()).toBe(form.idempotencyKey);
    expect(web.store.getOrder(orderId)).toMatchObject({ placement: 'placed', idempotencyKey: form.idempotencyKey });
    const metrics = { statusCode: 200, body: await web.metrics.registry.metrics() };
    expect(metrics.body).toMatch(/^pizza_orders_placed_total 1$/m);
  });

  it('places one order when the same form arrives twice at once (a double click)', async () => {
    web = await startTestWeb();
    const client = await loggedIn(web);
    await client.get('/menu');
    const form = { ...GOOD_PIZZA, idempotencyKey: client.idempotencyKey };
    const responses = await Promise.all([client.post('/orders', form), client.post('/orders', form)]);
    expect(responses.map((response) => response.statusCode)).toEqual([303, 303]);
    expect(responses[1]?.headers.location).toBe(responses[0]?.headers.location);
    expect(web.bus.records(web.settings.topics.ordered)).toHaveLength(1);
  });

  it("keeps two customers' orders apart even with the same key", async () => {
    web = await startTestWeb();
    const ada = await loggedIn(web, 'Ada');
    const bob = await loggedIn(web, 'Bob');
    await ada.get('/menu');
    const form = { ...GOOD_PIZZA, idempotencyKey: ada.idempotencyKey };
    const adas = await ada.post('/orders', form);
    await bob.get('/menu');
    const bobs = await bob.post('/orders', form);
    expect(bobs.statusCode).toBe(303);
    expect(bobs.headers.location).not.toBe(adas.headers.location);
    expect(web.bus.records(web.settings.topics.ordered)).toHaveLength(2);
  });

  for (const [what, key] of [
    ['garbage', 'garbage'],
    ['an empty key', ''],
    ['a key in capitals', '0F8FAD5B-D9CB-469F-A165-70867728950E'],
    ['two keys', ['0f8fad5b-d9cb-469f-a165-70867728950e', '7c9e6679-7425-40de-944b-e07fc1f90ae7']],
  ] as const) {
    it(`refuses ${what} as the idempotency key with 400, placing nothing`, async () => {
      web = await startTestWeb();
      const client = await loggedIn(web);
      await client.get('/menu');
      const response = await client.post('/orders', { ...GOOD_PIZZA, idempotencyKey: key as string | string[] });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('Your order was not placed.');
      expect(client.idempotencyKey).toMatch(UUID);
      expect(web.bus.records(web.settings.topics.ordered)).toHaveLength(0);
      expect(web.store.latestStatusSeq()).toBe(0);
    });
  }

  it('keeps the key of a refused form, so the corrected form still places one order', async () => {
    web = await startTestWeb();
    const client = await loggedIn(web);
    await client.get('/menu');
    const key = client.idempotencyKey;
    const refused = await client.post('/orders', { ...GOOD_PIZZA, sauce: 'Ketchup', idempotencyKey: key });
    expect(refused.statusCode).toBe(400);
    expect(client.idempotencyKey).toBe(key);
    expect((await client.post('/orders', { ...GOOD_PIZZA, idempotencyKey: key })).statusCode).toBe(303);
    expect((await client.post('/orders', { ...GOOD_PIZZA, idempotencyKey: key })).statusCode).toBe(303);
    expect(web.bus.records(web.settings.topics.ordered)).toHaveLength(1);
  });

  it('refuses a different pizza sent with a key that already placed an order, with 409', async () => {
    web = await startTestWeb();
    const client = await loggedIn(web);
    await client.get('/menu');
    const key = client.idempotencyKey;
    const placed = await client.post('/orders', { ...GOOD_PIZZA, idempotencyKey: key });
    const other = await client.post('/orders', { ...GOOD_PIZZA, sauce: 'Tomato', idempotencyKey: key });
    expect(other.statusCode).toBe(409);
    expect(other.body).toContain(`This form already placed order ${orderIdFrom(placed.headers.location)}`);
    expect(other.body).toMatch(/value="Tomato" required checked/);
    expect(client.idempotencyKey).not.toBe(key);
    expect(web.bus.records(web.settings.topics.ordered)).toHaveLength(1);
  });

  it('still takes an order from a client that sends no key, with a key of its own in the header', async () => {
    web = await startTestWeb();
    const client = await loggedIn(web);
    await client.get('/menu');
    expect((await client.post('/orders', GOOD_PIZZA)).statusCode).toBe(303);
    expect((await client.post('/orders', GOOD_PIZZA)).statusCode).toBe(303);
    const records = web.bus.records(web.settings.topics.ordered);
    expect(records).toHaveLength(2);
    for (const record of records) expect(record.headers?.[HEADERS.idempotencyKey]?.toString()).toMatch(UUID);
  });
});

describe('web app: an order the bus refused', () => {
  it('says it was not placed, shows no order, and a retry of the same form places it exactly once', async () => {
    let flaky: ReturnType<typeof flakyBus> | undefined;
    web = await startTestWeb({
      wrapBus: (bus) => {
        flaky = flakyBus(bus);
        return flaky.bus;
      },
    });
    if (!flaky) throw new Error('the bus was not wrapped');
    const client = await loggedIn(web);
    const customerId = await customerOf(web, client);
    const before = web.bus.records(web.settings.topics.ordered).length;
    const seqBefore = web.store.latestStatusSeq();
    await client.get('/menu');
    const key = client.idempotencyKey;

    flaky.failing = true;
    const refused = await client.post('/orders', { ...GOOD_PIZZA, idempotencyKey: key });
    expect(refused.statusCode).toBe(503);
    expect(refused.body).toContain('Your order was not placed');
    expect(refused.body).toContain('Trying again is safe');
    // The retry button sends the same order with the same key.
    expect(refused.body).toContain(`name="idempotencyKey" value="${key}"`);
    expect(refused.body).toContain('name="extraToppings" value="Onion"');
    expect(client.idempotencyKey).toBe(key);

    const failed = web.store.findByIdempotencyKey(customerId, key);
    expect(failed?.placement).toBe('failed');
    const list = (await client.get('/orders')).body;
    expect(list).not.toContain(failed?.orderId);
    expect((await client.get(`/orders/${failed?.orderId}`)).statusCode).toBe(404);
    expect(web.store.latestStatusSeq()).toBe(seqBefore);

    flaky.failing = false;
    const retried = await client.post('/orders', { ...GOOD_PIZZA, idempotencyKey: key });
    expect(retried.statusCode).toBe(303);
    expect(orderIdFrom(retried.headers.location)).toBe(failed?.orderId);
    const again = await client.post('/orders', { ...GOOD_PIZZA, idempotencyKey: key });
    expect(again.headers.location).toBe(retried.headers.location);

    const records = web.bus.records(web.settings.topics.ordered).slice(before);
    expect(records).toHaveLength(1);
    expect(records[0]?.key).toBe(failed?.orderId);
    expect(web.store.getOrder(failed?.orderId as string)).toMatchObject({ placement: 'placed', status: 100 });
    expect((await client.get(`/orders/${failed?.orderId}`)).body).toContain('Order received and being prepared');
  });
});

describe('web app: an order a crash left being placed', () => {
  it('shows "Placing your order…" and, when the form is sent again, publishes it once after the window', async () => {
    web = await startTestWeb({ placingWindowMs: 100 });
    const client = await loggedIn(web);
    const customerId = await customerOf(web, client);
    await client.get('/menu');
    const key = client.idempotencyKey;
    const order = { ...sampleOrder({ customerId, username: 'Ada' }), ...GOOD_PIZZA, extraToppings: ['Onion', 'Egg'] };
    web.store.beginPlacement(order, key, Date.now());

    const page = await client.get(`/orders/${order.orderId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Placing your order…');
    expect(page.body).not.toContain('Order received');

    const before = web.bus.records(web.settings.topics.ordered).length;
    const response = await client.post('/orders', { ...GOOD_PIZZA, idempotencyKey: key });
    expect(response.headers.location).toBe(`/orders/${order.orderId}`);
    const records = web.bus.records(web.settings.topics.ordered).slice(before);
    expect(records.map((record) => record.key)).toEqual([order.orderId]);
    expect(records[0]?.headers?.[HEADERS.idempotencyKey]?.toString()).toBe(key);
  });

  it('confirms it without publishing when the status view already has its event', async () => {
    web = await startTestWeb({ placingWindowMs: 60_000 });
    const client = await loggedIn(web);
    const customerId = await customerOf(web, client);
    await client.get('/menu');
    const key = client.idempotencyKey;
    const order = { ...sampleOrder({ customerId, username: 'Ada' }), ...GOOD_PIZZA, extraToppings: ['Onion', 'Egg'] };
    web.store.beginPlacement(order, key, Date.now());
    web.store.recordEvent({
      orderId: order.orderId,
      topic: web.settings.topics.ordered,
      partition: 0,
      offset: '41',
      status: 100,
      eventTimestamp: Date.now(),
      receivedAt: Date.now(),
    });
    const before = web.bus.records(web.settings.topics.ordered).length;
    const response = await client.post('/orders', { ...GOOD_PIZZA, idempotencyKey: key });
    expect(response.headers.location).toBe(`/orders/${order.orderId}`);
    expect(web.bus.records(web.settings.topics.ordered)).toHaveLength(before);
    expect(web.store.getOrder(order.orderId)?.placement).toBe('placed');
  });
});

/** The customer id behind a logged-in client, read from an order it places. */
async function customerOf(started: TestWeb, client: WebClient): Promise<string> {
  const response = await client.order(GOOD_PIZZA);
  return started.store.getOrder(orderIdFrom(response.headers.location))?.customerId as string;
}
