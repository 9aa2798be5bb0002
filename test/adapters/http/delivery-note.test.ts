import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logRows } from '../../../src/adapters/http/presenters.js';
import { orderedEventSchema } from '../../../src/domain/events.js';
import { GOOD_PIZZA, startTestWeb, type TestWeb, WebClient } from './web-client.js';

let web: TestWeb;
beforeEach(async () => {
  web = await startTestWeb();
});
afterEach(async () => {
  await web.close();
});

const orderIdFrom = (location: unknown) => String(location).split('/').pop() as string;
const orderedValues = () =>
  web.bus.records(web.settings.topics.ordered).map((record) => JSON.parse(String(record.value)));

describe('web app: the note for the driver', () => {
  it('offers one optional text input on the menu', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    const menu = await client.get('/menu');
    expect(menu.body).toMatch(/<input type="text" name="deliveryNote"[^>]*maxlength="960"/);
    expect(menu.body).toContain('Note for the driver <small>(optional)</small>');
  });

  it('publishes the note with the order, keeps it with the order, and shows it on the order page, escaped', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    const note = 'ring twice <b>&</b>';
    const response = await client.order({ ...GOOD_PIZZA, deliveryNote: `  ${note} ` });
    expect(response.statusCode).toBe(303);
    const orderId = orderIdFrom(response.headers.location);

    const [value] = orderedValues();
    expect(orderedEventSchema.parse(value).order).toMatchObject({ username: 'Ada', delivery_note: note });
    expect(web.store.getOrder(orderId)?.deliveryNote).toBe(note);

    const page = await client.get(`/orders/${orderId}`);
    expect(page.body).toContain('<dd data-delivery-note>ring twice &lt;b&gt;&amp;&lt;/b&gt;</dd>');
    expect(page.body).not.toContain('<b>&</b>');
    // "Order again" carries the note too.
    expect(page.body).toContain('name="deliveryNote" value="ring twice &lt;b&gt;&amp;&lt;/b&gt;"');
  });

  it('leaves delivery_note out of pizza-ordered when the note is blank or not sent', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    expect((await client.order({ ...GOOD_PIZZA, deliveryNote: '   ' })).statusCode).toBe(303);
    expect((await client.order({ ...GOOD_PIZZA })).statusCode).toBe(303);
    const values = orderedValues();
    expect(values).toHaveLength(2);
    for (const value of values) expect(Object.keys(value.order)).not.toContain('delivery_note');
  });

  it.each([
    ['too long', 'x'.repeat(81), 'Keep the note for the driver to 80 characters.'],
    ['not printable', 'ring\u202Etwice', 'Use printable characters only in the note for the driver.'],
  ])('refuses a note that is %s with a friendly error, keeping the pizza chosen', async (_, deliveryNote, message) => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    const response = await client.order({ ...GOOD_PIZZA, deliveryNote });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('Your order was not placed.');
    expect(response.body).toContain(message);
    expect(response.body).toMatch(/value="Pesto" required\s+checked/);
    expect(orderedValues()).toEqual([]);
  });

  it('refuses a note sent twice', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    const response = await client.order({ ...GOOD_PIZZA, deliveryNote: ['ring', 'twice'] });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('Write one note for the driver.');
  });

  it('does not let one form place a pizza with another note', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    await client.get('/menu');
    const idempotencyKey = client.idempotencyKey;
    const placed = await client.post('/orders', { ...GOOD_PIZZA, deliveryNote: 'ring twice', idempotencyKey });
    expect(placed.statusCode).toBe(303);
    const again = await client.post('/orders', { ...GOOD_PIZZA, deliveryNote: 'leave it at the door', idempotencyKey });
    expect(again.statusCode).toBe(409);
    expect(orderedValues()).toHaveLength(1);
  });
});

describe('log rows: deliver’s line that takes the order in', () => {
  const line = (msg: string, fields: Record<string, unknown>) => ({
    time: 0,
    level: 30,
    role: 'deliver',
    msg,
    orderId: '0000abcd',
    ...fields,
  });

  it('tells the customer the driver has their note', () => {
    const rows = logRows(
      [
        line('early warning: order noted, waiting for the pizza', { deliveryNote: 'ring twice' }),
        line('out for delivery', { deliverySeconds: 8, factor: 2, deliveryNote: 'ring twice' }),
        line('early warning: order noted, waiting for the pizza', {}),
      ],
      { timeScale: 0.5 },
    );
    expect(rows.map((row) => row.msg)).toEqual([
      'The driver knows your order is coming. Note for the driver: ring twice',
      'On the way to you: about 4 s. Note for the driver: ring twice',
      'The driver knows your order is coming.',
    ]);
  });
});
