import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DeliveryStore } from '../../src/adapters/sqlite/delivery-store.js';
import { CancelRegistry } from '../../src/roles/cancels.js';
import { type DeliverDeps, handleDeliveryEvent } from '../../src/roles/deliver.js';
import { busRecord } from '../support/fake-bus.js';
import { FAKE_EPOCH } from '../support/fake-clock.js';
import { handlerDeps } from '../support/handler-deps.js';

const ORDER_ID = '9c8d7e6f';
const CUSTOMER = '123456789abcdef0123456789abcdef7';

/** deliver's handler with a logger that keeps its lines. */
function deliver() {
  const base = handlerDeps('0.01');
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push(JSON.parse(text));
      done();
    },
  });
  const store = DeliveryStore.open(':memory:');
  onTestFinished(() => store.close());
  const cancels = new CancelRegistry({ role: 'deliver', windowMs: 3_600_000, now: () => base.clock.now() });
  const deps: DeliverDeps = {
    ...base,
    log: pino({ level: 'info' }, sink),
    signal: new AbortController().signal,
    store,
    cancels,
  };
  return { ...base, deps, lines, store };
}

const ordered = (note?: unknown) =>
  busRecord('pizza-ordered', ORDER_ID, {
    status: 100,
    timestamp: FAKE_EPOCH,
    order: {
      extra_toppings: [],
      sauce: 'Pesto',
      cheese: 'Gouda',
      main_topping: 'Chicken',
      customer_id: CUSTOMER,
      username: 'workshop',
      ...(note === undefined ? {} : { delivery_note: note }),
    },
  });
const baked = () => busRecord('pizza-baked', ORDER_ID, { status: 300, timestamp: FAKE_EPOCH });
const said = (lines: Array<Record<string, unknown>>, msg: string) => lines.find((line) => line.msg === msg);

describe('deliver: the note for the driver on pizza-ordered', () => {
  it('says the note in the line that takes the order in (the early warning)', async () => {
    const { deps, lines } = deliver();
    await handleDeliveryEvent(ordered('ring twice'), deps);
    expect(said(lines, 'early warning: order noted, waiting for the pizza')).toMatchObject({
      deliveryNote: 'ring twice',
    });
  });

  it('says it when the order comes after its pizza, as it goes out for delivery', async () => {
    const { deps, lines, clock, bus } = deliver();
    await handleDeliveryEvent(baked(), deps);
    const delivering = handleDeliveryEvent(ordered('ring twice'), deps);
    await clock.whenSleeping();
    expect(said(lines, 'out for delivery')).toMatchObject({ factor: 2, deliveryNote: 'ring twice' });
    await clock.advance(clock.sleeping[0]?.ms ?? 0);
    await delivering;
    expect(bus.sent().map((sent) => sent.topic)).toEqual(['pizza-pending', 'pizza-delivered']);
  });

  it('says nothing of a note when the order has none, as before the field', async () => {
    const { deps, lines } = deliver();
    await handleDeliveryEvent(ordered(), deps);
    expect(said(lines, 'early warning: order noted, waiting for the pizza')).not.toHaveProperty('deliveryNote');
  });

  it('leaves out a note another writer made that the web app would refuse, and takes the order in all the same', async () => {
    const { deps, lines, store } = deliver();
    await handleDeliveryEvent(ordered(`ring\u202Etwice ${'x'.repeat(200)}`), deps);
    expect(said(lines, 'early warning: order noted, waiting for the pizza')).not.toHaveProperty('deliveryNote');
    expect(said(lines, 'the note for the driver is not one the web app accepts; left out')).toBeDefined();
    expect(store.get(ORDER_ID)).toEqual({ state: 'awaiting-pizza', customerId: CUSTOMER });
  });
});
