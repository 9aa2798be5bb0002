import { describe, expect, it, onTestFinished } from 'vitest';
import { DeliveryStore } from '../../src/adapters/sqlite/delivery-store.js';
import { InvalidEventError } from '../../src/domain/events.js';
import { CancelRegistry } from '../../src/roles/cancels.js';
import { type DeliverDeps, handleDeliveryEvent } from '../../src/roles/deliver.js';
import { busRecord } from '../support/fake-bus.js';
import { FAKE_EPOCH } from '../support/fake-clock.js';
import { handlerDeps } from '../support/handler-deps.js';

const ORDER_ID = '9c8d7e6f';
// Delivery seconds from the workshop's formula, int(customer_id, 16) % 10 + 5, worked out in
// Python apart from our code: int(CUSTOMER, 16) % 10 is 7, so 12 s, and 24 s at factor 2.
const CUSTOMER = '123456789abcdef0123456789abcdef7';

function deliver(timeScale: string) {
  const base = handlerDeps(timeScale);
  const store = DeliveryStore.open(':memory:');
  onTestFinished(() => store.close());
  const controller = new AbortController();
  const cancels = new CancelRegistry({ role: 'deliver', windowMs: 3_600_000, now: () => base.clock.now() });
  const deps: DeliverDeps = { ...base, signal: controller.signal, store, cancels };
  return { ...base, deps, store, cancels, controller };
}

const ordered = (customerId = CUSTOMER) =>
  busRecord('pizza-ordered', ORDER_ID, {
    status: 100,
    timestamp: FAKE_EPOCH,
    order: {
      extra_toppings: [],
      sauce: 'Pesto',
      cheese: 'Gouda',
      main_topping: 'Chicken',
      customer_id: customerId,
      username: 'workshop',
    },
  });
const baked = () => busRecord('pizza-baked', ORDER_ID, { status: 300, timestamp: FAKE_EPOCH });

describe('handleDeliveryEvent, called directly', () => {
  it('notes the customer from pizza-ordered, then delivers the baked pizza in (id % 10 + 5) × time_scale and says so on pizza-delivered', async () => {
    const { deps, clock, bus, store } = deliver('0.5');
    await handleDeliveryEvent(ordered(), deps);
    expect(bus.published).toEqual([]);
    expect(clock.sleeping).toEqual([]);
    expect(store.get(ORDER_ID)).toEqual({ state: 'awaiting-pizza', customerId: CUSTOMER });

    const delivering = handleDeliveryEvent(baked(), deps);
    await clock.whenSleeping();
    // 12 simulated seconds at half speed.
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([6_000]);
    await clock.advance(5_999);
    expect(bus.published).toEqual([]);
    await clock.advance(1);
    await delivering;
    expect(bus.sent()).toEqual([
      { topic: 'pizza-delivered', key: ORDER_ID, json: { status: 999, timestamp: FAKE_EPOCH + 6_000 } },
    ]);
    expect(bus.published[0]?.value?.toString('utf8')).toBe(`{"status":999,"timestamp":${FAKE_EPOCH + 6_000}}`);
    expect(store.get(ORDER_ID)).toEqual({ state: 'delivered', customerId: CUSTOMER });
  });

  it('reports a pizza baked before its order as pending on pizza-pending, then delivers it at factor 2 once the order comes', async () => {
    const { deps, clock, bus, store } = deliver('1');
    await handleDeliveryEvent(baked(), deps);
    expect(clock.sleeping).toEqual([]);
    expect(bus.sent()).toEqual([
      { topic: 'pizza-pending', key: ORDER_ID, json: { status: 150, timestamp: FAKE_EPOCH } },
    ]);
    expect(store.get(ORDER_ID)).toEqual({ state: 'pending' });

    const delivering = handleDeliveryEvent(ordered(), deps);
    await clock.whenSleeping();
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([24_000]);
    await clock.advance(24_000);
    await delivering;
    expect(bus.sent().slice(1)).toEqual([
      { topic: 'pizza-delivered', key: ORDER_ID, json: { status: 999, timestamp: FAKE_EPOCH + 24_000 } },
    ]);
  });

  it('delivers nothing twice: a repeated pizza-baked after delivery is passed over', async () => {
    const { deps, clock, bus } = deliver('0');
    await handleDeliveryEvent(ordered(), deps);
    await handleDeliveryEvent(baked(), deps);
    await handleDeliveryEvent(baked(), deps);
    expect(clock.sleeping).toEqual([]);
    expect(bus.sent().map((sent) => sent.topic)).toEqual(['pizza-delivered']);
  });

  it('refuses a cancel that came before the baked pizza ("too late", status 300), and delivers it all the same', async () => {
    const { deps, clock, bus, cancels } = deliver('0');
    await handleDeliveryEvent(ordered(), deps);
    await cancels.learn(ORDER_ID, clock.now());
    await handleDeliveryEvent(baked(), deps);
    expect(bus.sent()).toEqual([
      { topic: 'pizza-cancelled', key: ORDER_ID, json: { status: 300, refused: 'too-late', timestamp: FAKE_EPOCH } },
      { topic: 'pizza-delivered', key: ORDER_ID, json: { status: 999, timestamp: FAKE_EPOCH } },
    ]);
  });

  it('refuses a cancel for a pending pizza with the pending status, once, and delivers it when the order comes', async () => {
    const { deps, clock, bus, cancels } = deliver('0');
    await cancels.learn(ORDER_ID, clock.now());
    await handleDeliveryEvent(baked(), deps);
    await handleDeliveryEvent(ordered(), deps);
    expect(bus.sent()).toEqual([
      { topic: 'pizza-pending', key: ORDER_ID, json: { status: 150, timestamp: FAKE_EPOCH } },
      { topic: 'pizza-cancelled', key: ORDER_ID, json: { status: 150, refused: 'too-late', timestamp: FAKE_EPOCH } },
      { topic: 'pizza-delivered', key: ORDER_ID, json: { status: 999, timestamp: FAKE_EPOCH } },
    ]);
  });

  it('goes on with a delivery when a cancel comes while the pizza is out', async () => {
    const { deps, clock, bus, cancels } = deliver('1');
    await handleDeliveryEvent(ordered(), deps);
    const delivering = handleDeliveryEvent(baked(), deps);
    await clock.whenSleeping();
    await cancels.learn(ORDER_ID, clock.now());
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([12_000]);
    await clock.advance(12_000);
    await delivering;
    expect(bus.sent().map((sent) => sent.topic)).toEqual(['pizza-delivered']);
  });

  it('gives up at once when its record is taken back mid-delivery, and delivers when the record comes again', async () => {
    const { deps, clock, bus, controller } = deliver('1');
    await handleDeliveryEvent(ordered(), deps);
    const delivering = handleDeliveryEvent(baked(), deps);
    await clock.whenSleeping();
    const revoked = new Error('partition revoked');
    controller.abort(revoked);
    // Given up at once: its sleep is gone without the clock moving.
    expect(clock.sleeping).toEqual([]);
    await expect(delivering).rejects.toBe(revoked);
    expect(bus.published).toEqual([]);

    const again = handleDeliveryEvent(baked(), { ...deps, signal: new AbortController().signal });
    await clock.runUntilIdle();
    await again;
    expect(bus.sent().map((sent) => sent.topic)).toEqual(['pizza-delivered']);
  });

  it.each([
    ['pizza-ordered with a customer id that is not 32 hex digits', ordered('not-a-customer')],
    ['pizza-ordered with no order', busRecord('pizza-ordered', ORDER_ID, { status: 100, timestamp: FAKE_EPOCH })],
    ['pizza-baked that is not JSON', busRecord('pizza-baked', ORDER_ID, Buffer.from('baked!'))],
    ['pizza-baked with no timestamp', busRecord('pizza-baked', ORDER_ID, { status: 300 })],
    ['pizza-baked with no key', busRecord('pizza-baked', null, { status: 300, timestamp: FAKE_EPOCH })],
  ])('refuses %s as a bad event, remembering and publishing nothing', async (_what, record) => {
    const { deps, clock, bus, store } = deliver('1');
    await expect(clock.withoutSleeping(() => handleDeliveryEvent(record, deps))).rejects.toBeInstanceOf(
      InvalidEventError,
    );
    expect(bus.published).toEqual([]);
    expect(store.get(ORDER_ID)).toBeUndefined();
  });
});
