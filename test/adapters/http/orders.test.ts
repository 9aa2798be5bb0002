import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { orderedEventSchema } from '../../../src/domain/events.js';
import { flakyBus, GOOD_PIZZA, startTestWeb, type TestWeb, WebClient } from './web-client.js';

let web: TestWeb;
beforeEach(async () => {
  web = await startTestWeb();
});
afterEach(async () => {
  await web.close();
});

const orderIdFrom = (location: unknown) => /^\/orders\/([0-9a-f]{8})$/.exec(String(location))?.[1] as string;

describe('web app: placing orders', () => {
  it('shows the whole menu from the settings', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    const menu = await client.get('/menu');
    const { sauce, cheese, mainTopping, extraToppings } = web.settings.menu;
    for (const item of [...sauce, ...cheese, ...mainTopping, ...extraToppings])
      expect(menu.body).toContain(`value="${item}"`);
  });

  it('sends a visitor who is not logged in to the login page', async () => {
    const response = await web.app.inject({ method: 'GET', url: '/menu' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/login');
  });

  it('sends a visitor who is not logged in to the login page before reading their order form', async () => {
    const visitor = new WebClient(web.app);
    await visitor.get('/login');
    const response = await visitor.post('/orders', { sauce: ['Pesto', 'Tomato'] });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/login');
    expect(await web.metrics.registry.metrics()).not.toMatch(/^pizza_orders_rejected_total\{reason="invalid"\} 1$/m);
  });

  it('publishes pizza-ordered keyed by the order id, stores status 100 and redirects to the order', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    const response = await client.order(GOOD_PIZZA);
    expect(response.statusCode).toBe(303);
    const orderId = orderIdFrom(response.headers.location);
    expect(orderId).toMatch(/^[0-9a-f]{8}$/);

    const records = web.bus.records(web.settings.topics.ordered);
    expect(records).toHaveLength(1);
    expect(records[0]?.key).toBe(orderId);
    const event = orderedEventSchema.parse(JSON.parse(String(records[0]?.value)));
    expect(event.status).toBe(100);
    expect(event.order).toMatchObject({
      sauce: 'Pesto',
      cheese: 'Gouda',
      main_topping: 'Chicken',
      extra_toppings: ['Onion', 'Egg'],
      username: 'Ada',
    });
    expect(event.order.customer_id).toMatch(/^[0-9a-f]{32}$/);

    const stored = web.store.getOrder(orderId);
    expect(stored?.status).toBe(100);
    expect(stored?.customerId).toBe(event.order.customer_id);

    const page = await client.get(`/orders/${orderId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Order received and being prepared');
    expect(page.body).toContain('Onion, Egg');
  });

  it('accepts a pizza with one extra or none', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    expect((await client.order({ ...GOOD_PIZZA, extraToppings: 'Ham' })).statusCode).toBe(303);
    expect((await client.order({ ...GOOD_PIZZA, extraToppings: [] })).statusCode).toBe(303);
    const extras = web.bus
      .records(web.settings.topics.ordered)
      .map((r) => JSON.parse(String(r.value)).order.extra_toppings);
    expect(extras).toEqual([['Ham'], []]);
  });

  const badForms: Array<[string, Record<string, string | string[]>, string]> = [
    ['an unknown sauce', { ...GOOD_PIZZA, sauce: 'Ketchup' }, 'Choose a sauce from the menu.'],
    ['a missing cheese', { sauce: 'Pesto', mainTopping: 'Chicken' }, 'Choose a cheese.'],
    ['a missing main topping', { sauce: 'Pesto', cheese: 'Gouda' }, 'Choose a main topping.'],
    [
      'an unknown extra',
      { ...GOOD_PIZZA, extraToppings: ['Onion', 'Pineapple'] },
      'Choose extra toppings from the menu.',
    ],
    ['an extra twice', { ...GOOD_PIZZA, extraToppings: ['Onion', 'Onion'] }, 'Choose each extra topping once.'],
    ['a sauce sent twice', { ...GOOD_PIZZA, sauce: ['Pesto', 'Tomato'] }, 'Choose one sauce.'],
  ];
  for (const [what, form, message] of badForms) {
    it(`refuses ${what}: the form again, a message, 400, nothing published or stored`, async () => {
      const client = new WebClient(web.app);
      await client.login('Ada');
      const response = await client.order(form);
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('Your order was not placed.');
      expect(response.body).toContain(message);
      expect(response.body).toContain('action="/orders"');
      expect(web.bus.records(web.settings.topics.ordered)).toHaveLength(0);
      expect(web.store.latestStatusSeq()).toBe(0);
    });
  }

  it('keeps the valid choices of a refused form', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    const response = await client.order({ ...GOOD_PIZZA, sauce: 'Ketchup' });
    expect(response.body).toMatch(/value="Gouda" required checked/);
    expect(response.body).toMatch(/value="Onion" checked/);
  });

  it('refuses an order without a CSRF token and publishes nothing', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    await client.get('/menu');
    const response = await client.post('/orders', GOOD_PIZZA, false);
    expect(response.statusCode).toBe(403);
    expect(web.bus.records(web.settings.topics.ordered)).toHaveLength(0);
  });

  it('says the order was not placed, with 503, when the bus refuses it, and shows no order', async () => {
    await web.close();
    web = await startTestWeb({
      wrapBus: (bus) => {
        const flaky = flakyBus(bus);
        flaky.failing = true;
        return flaky.bus;
      },
    });
    const client = new WebClient(web.app);
    await client.login('Ada');
    const response = await client.order(GOOD_PIZZA);
    expect(response.statusCode).toBe(503);
    expect(response.body).toContain('Your order was not placed');
    expect(web.store.latestStatusSeq()).toBe(0);
    expect((await client.get('/orders')).body).toContain('No orders yet.');
  });
});

describe('web app: my orders, lookup and ownership', () => {
  it('lists my orders newest first, and only mine', async () => {
    const ada = new WebClient(web.app);
    await ada.login('Ada');
    const first = orderIdFrom((await ada.order({ ...GOOD_PIZZA, sauce: 'Tomato' })).headers.location);
    const second = orderIdFrom((await ada.order({ ...GOOD_PIZZA, sauce: 'Hummus' })).headers.location);
    const bob = new WebClient(web.app);
    await bob.login('Bob');
    const bobs = orderIdFrom((await bob.order(GOOD_PIZZA)).headers.location);

    const list = (await ada.get('/orders')).body;
    expect(list.indexOf(second)).toBeGreaterThan(-1);
    expect(list.indexOf(second)).toBeLessThan(list.indexOf(first));
    expect(list).not.toContain(bobs);
  });

  it("answers 404 with a clear page for a stranger's order, its logs and its live stream", async () => {
    const ada = new WebClient(web.app);
    await ada.login('Ada');
    const orderId = orderIdFrom((await ada.order(GOOD_PIZZA)).headers.location);
    const mallory = new WebClient(web.app);
    await mallory.login('Mallory');

    const page = await mallory.get(`/orders/${orderId}`);
    expect(page.statusCode).toBe(404);
    expect(page.body).toContain('Order not found');
    expect(page.body).not.toContain('Pesto');
    expect((await mallory.get(`/orders/${orderId}/logs/serve`)).statusCode).toBe(404);
    expect((await mallory.get(`/orders/${orderId}/live?service=serve`)).statusCode).toBe(404);
    // The owner still sees it.
    expect((await ada.get(`/orders/${orderId}`)).statusCode).toBe(200);
  });

  it('answers 404 for an unknown order id and for something that is not an order id', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    const unknown = await client.get('/orders/0badf00d');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('0badf00d');
    expect((await client.get('/orders/not-an-id')).statusCode).toBe(404);
  });

  it('finds an order by id from the search box, ignoring case and spaces', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    const orderId = orderIdFrom((await client.order(GOOD_PIZZA)).headers.location);
    const lookup = await client.get(`/orders/lookup?id=${encodeURIComponent(` ${orderId.toUpperCase()} `)}`);
    expect(lookup.statusCode).toBe(303);
    expect(lookup.headers.location).toBe(`/orders/${orderId}`);
    const bad = await client.get('/orders/lookup?id=%3Cb%3Ebold%3C%2Fb%3E');
    expect(bad.statusCode).toBe(404);
    expect(bad.body).toContain('&lt;b&gt;bold&lt;/b&gt;');
  });
});

describe('web app: escaping', () => {
  it('shows an HTML username as text on every page', async () => {
    const client = new WebClient(web.app);
    const payload = '<img src=x>"\'&';
    expect((await client.login(payload)).statusCode).toBe(303);
    const orderId = orderIdFrom((await client.order(GOOD_PIZZA)).headers.location);
    for (const url of ['/menu', '/orders', `/orders/${orderId}`]) {
      const body = (await client.get(url)).body;
      expect(body).not.toContain('<img src=x>');
      expect(body).toContain('&lt;img src&#x3D;x&gt;&quot;&#x27;&amp;');
    }
  });
});

describe('web app: metrics', () => {
  it('counts placed and refused orders for Prometheus', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    await client.order(GOOD_PIZZA);
    await client.order({ ...GOOD_PIZZA, sauce: 'Ketchup' });
    const metrics = { statusCode: 200, body: await web.metrics.registry.metrics() };
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^pizza_orders_placed_total 1$/m);
    expect(metrics.body).toMatch(/^pizza_orders_rejected_total\{reason="invalid"\} 1$/m);
  });
});
