import { describe, expect, it, onTestFinished } from 'vitest';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { OrdersStore } from '../../src/adapters/sqlite/orders-store.js';
import { ViewWriter } from '../../src/adapters/sqlite/view-writer.js';
import { encodeEvent, InvalidEventError, OrderIdCollisionError } from '../../src/domain/events.js';
import { HEADERS } from '../../src/domain/headers.js';
import type { StatusRecordDecoder } from '../../src/domain/status-update.js';
import { startShop } from '../../src/roles/shop.js';
import { applyStatusRecord, type StatusDeps } from '../../src/roles/status.js';
import { decodeOutcomeRecord, stageRecordDecoder } from '../../src/roles/status-records.js';
import { busRecord } from '../support/fake-bus.js';
import { FAKE_EPOCH } from '../support/fake-clock.js';
import { handlerDeps } from '../support/handler-deps.js';
import { testSettings } from '../support/settings.js';
import { openOrders, sampleOrder, silentLogs, waitFor } from '../support/shop.js';

const ORDER_ID = '3c4d5e6f';
const CUSTOMER = '8f14e45fceea167a5a36dedd4bea2543';

/** applyStatusRecord's collaborators: the orders view in memory, a fake clock; `decode` for the topic. */
function statusView(decode?: StatusRecordDecoder) {
  const { settings, clock, log } = handlerDeps('1');
  const store = OrdersStore.open(':memory:');
  onTestFinished(() => store.close());
  const deps: StatusDeps = {
    settings,
    clock,
    log,
    view: new ViewWriter(store, settings.statuses),
    decode: decode ?? stageRecordDecoder(settings.topics),
  };
  return { deps, store, clock, settings };
}

/** `pizza-ordered` from the workshop's web app, for an order this view has not seen. */
const ordered = (customerId = CUSTOMER, offset = '0') =>
  busRecord(
    'pizza-ordered',
    ORDER_ID,
    {
      status: 100,
      timestamp: FAKE_EPOCH - 5_000,
      order: {
        extra_toppings: ['Mushroom', 'Black olives'],
        sauce: 'Organic tomato',
        cheese: 'Ricotta',
        main_topping: 'Vegan meat',
        customer_id: customerId,
        username: 'workshop',
      },
    },
    { offset },
  );

/** A stage's event as the stage writes it: pizza-assembled also carries the baking time. */
const stage = (topic: string, status: number, offset: string, timestamp = FAKE_EPOCH) =>
  busRecord(
    topic,
    ORDER_ID,
    topic === 'pizza-assembled' ? { status, baking_time: 12, timestamp } : { status, timestamp },
    { partition: 1, offset },
  );

describe('applyStatusRecord, called directly', () => {
  it('adds an order placed by another web app to the view, with its choices, at status 100', async () => {
    const { deps, store } = statusView();
    await applyStatusRecord(ordered(), deps);
    expect(store.getOrder(ORDER_ID)).toMatchObject({
      orderId: ORDER_ID,
      customerId: CUSTOMER,
      username: 'workshop',
      sauce: 'Organic tomato',
      cheese: 'Ricotta',
      mainTopping: 'Vegan meat',
      extraToppings: ['Mushroom', 'Black olives'],
      status: 100,
    });
  });

  it("applies each stage's status and records the event where it was read, and when", async () => {
    const { deps, store, clock } = statusView();
    await applyStatusRecord(ordered(), deps);
    await clock.advance(1_000);
    await applyStatusRecord(stage('pizza-assembled', 200, '7', FAKE_EPOCH + 500), deps);
    expect(store.getStatus(ORDER_ID)?.status).toBe(200);
    expect(store.listEvents(ORDER_ID).at(-1)).toEqual({
      orderId: ORDER_ID,
      topic: 'pizza-assembled',
      partition: 1,
      offset: '7',
      status: 200,
      eventTimestamp: FAKE_EPOCH + 500,
      receivedAt: FAKE_EPOCH + 1_000,
    });

    await applyStatusRecord(stage('pizza-baked', 300, '8'), deps);
    await applyStatusRecord(stage('pizza-delivered', 999, '9'), deps);
    expect(store.getStatus(ORDER_ID)?.status).toBe(999);
  });

  it('never moves an order back: a late baked after delivered leaves it delivered', async () => {
    const { deps, store } = statusView();
    await applyStatusRecord(ordered(), deps);
    await applyStatusRecord(stage('pizza-delivered', 999, '3'), deps);
    await applyStatusRecord(stage('pizza-baked', 300, '2'), deps);
    expect(store.getStatus(ORDER_ID)?.status).toBe(999);
  });

  it("applies a cancel refusal as the order's own status, recorded on pizza-cancelled", async () => {
    const { deps, store } = statusView(decodeOutcomeRecord);
    await applyStatusRecord(ordered(), deps);
    await applyStatusRecord(
      busRecord('pizza-cancelled', ORDER_ID, { status: 300, refused: 'too-late', timestamp: FAKE_EPOCH }),
      deps,
    );
    expect(store.getStatus(ORDER_ID)?.status).toBe(300);
    expect(store.listEvents(ORDER_ID).map((event) => [event.topic, event.status])).toEqual([
      ['pizza-ordered', 100],
      ['pizza-cancelled', 300],
    ]);
  });

  it('passes over a record its decoder has nothing for (a tombstone)', async () => {
    const { deps, store } = statusView(async () => undefined);
    await applyStatusRecord(busRecord('pizza-status', ORDER_ID, null), deps);
    expect(store.getStatus(ORDER_ID)).toBeUndefined();
    expect(store.listEvents(ORDER_ID)).toEqual([]);
  });

  it('refuses a decoded key that is no order id the web app could have issued, writing nothing', async () => {
    const { deps, store } = statusView(async () => ({ orderId: 'ORDER-1', status: 200, timestamp: FAKE_EPOCH }));
    await expect(applyStatusRecord(busRecord('pizza-status', 'ORDER-1', {}), deps)).rejects.toBeInstanceOf(
      InvalidEventError,
    );
    expect(store.listEvents('ORDER-1')).toEqual([]);
  });

  it.each([
    ['a value that is not JSON', busRecord('pizza-baked', ORDER_ID, Buffer.from('{'))],
    ['no status', busRecord('pizza-baked', ORDER_ID, { timestamp: FAKE_EPOCH })],
    ['a key that is no order id', busRecord('pizza-baked', 'xyz', { status: 300, timestamp: FAKE_EPOCH })],
  ])('refuses a stage event with %s as a bad event', async (_what, record) => {
    const { deps, store } = statusView();
    await expect(applyStatusRecord(record, deps)).rejects.toBeInstanceOf(InvalidEventError);
    expect(store.listEvents(ORDER_ID)).toEqual([]);
  });

  // Bake dead-letters these: the view refusing them too keeps them from becoming orders nobody placed.
  it.each([
    ['a baking time no recipe has (3e7 s)', { status: 200, baking_time: 3e7, timestamp: FAKE_EPOCH }, 'baking_time'],
    ['a negative baking time', { status: 200, baking_time: -5, timestamp: FAKE_EPOCH }, 'baking_time'],
    ['no baking time', { status: 200, timestamp: FAKE_EPOCH }, 'baking_time'],
  ])('refuses a pizza-assembled with %s, as bake does, and writes no row', async (_what, value, field) => {
    const { deps, store } = statusView();
    const record = busRecord('pizza-assembled', ORDER_ID, value, { partition: 1, offset: '5' });
    const refused = await applyStatusRecord(record, deps).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvalidEventError);
    expect((refused as Error).message).toContain(`"${field}"`);
    expect(store.getStatus(ORDER_ID)).toBeUndefined();
    expect(store.listEvents(ORDER_ID)).toEqual([]);
  });

  it('refuses a pizza-ordered that assemble would refuse (no customer id), and writes no order', async () => {
    const { deps, store } = statusView();
    const record = busRecord('pizza-ordered', ORDER_ID, { status: 100, timestamp: FAKE_EPOCH, order: {} });
    await expect(applyStatusRecord(record, deps)).rejects.toBeInstanceOf(InvalidEventError);
    expect(store.getOrder(ORDER_ID)).toBeUndefined();
    expect(store.getStatus(ORDER_ID)).toBeUndefined();
  });

  it('applies a pizza-assembled with a baking time from the recipes', async () => {
    const { deps, store } = statusView();
    await applyStatusRecord(ordered(), deps);
    await applyStatusRecord(
      busRecord('pizza-assembled', ORDER_ID, { status: 200, baking_time: 12, timestamp: FAKE_EPOCH }, { offset: '6' }),
      deps,
    );
    expect(store.getStatus(ORDER_ID)?.status).toBe(200);
  });

  it('refuses a second pizza-ordered for a known order id from another customer: two orders never merge', async () => {
    const { deps, store, settings } = statusView();
    const mine = sampleOrder({ orderId: ORDER_ID });
    store.placeOrder(mine, { status: 100, timestamp: FAKE_EPOCH }, settings.statuses, FAKE_EPOCH);
    await expect(applyStatusRecord(ordered(CUSTOMER, '4'), deps)).rejects.toBeInstanceOf(OrderIdCollisionError);
    expect(store.getOrder(ORDER_ID)).toMatchObject({ customerId: mine.customerId, username: mine.username });
  });
});

describe('the status view checks what it applies, as the stages do (issue 20)', () => {
  it('dead-letters a pizza-assembled that bake refuses, with its reason, and makes no status row of it', async () => {
    const bus = new EmbeddedBus({ partitions: 2, deadLetterTopic: 'dead' });
    onTestFinished(() => bus.close());
    const fixture = testSettings({ timeScale: '0' });
    onTestFinished(fixture.cleanup);
    const settings = { ...fixture.settings, topics: { ...fixture.settings.topics, deadLetter: 'dead' } };
    const shop = await startShop({ settings, roles: ['status', 'bake'], logs: silentLogs(), bus });
    onTestFinished(() => shop.stop());

    const poison = encodeEvent({ status: 200, baking_time: 3e7, timestamp: Date.now() });
    await bus.publish(settings.topics.assembled, ORDER_ID, poison);
    const letters = await waitFor(() => {
      const found = bus.records('dead');
      return found.length >= 2 ? found : undefined;
    }, 'the bad record dead-lettered by bake and by the view');
    const byRole = new Map(letters.map((letter) => [letter.headers[HEADERS.deadLetter.role]?.toString(), letter]));
    expect([...byRole.keys()].sort()).toEqual(['bake', 'status']);
    const viewLetter = byRole.get('status');
    expect(viewLetter?.headers[HEADERS.deadLetter.reason]?.toString()).toBe('bad-event');
    expect(viewLetter?.headers[HEADERS.deadLetter.error]?.toString()).toMatch(/baking_time.*longer than any recipe/);
    expect(viewLetter?.value?.equals(poison)).toBe(true);
    const store = openOrders(settings);
    try {
      expect(store.getStatus(ORDER_ID)).toBeUndefined();
      expect(store.listEvents(ORDER_ID)).toEqual([]);
    } finally {
      store.close();
    }
  });
});
