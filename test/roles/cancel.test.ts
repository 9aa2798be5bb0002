import { afterEach, describe, expect, it } from 'vitest';
import type { BusRecord } from '../../src/adapters/bus/bus.js';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import type { RoleName, Settings } from '../../src/config/settings.js';
import { cancelOutcomeOf } from '../../src/domain/cancel.js';
import type { Clock } from '../../src/domain/clock.js';
import { cancelOutcomeSchema, decodeEvent, encodeEvent } from '../../src/domain/events.js';
import type { Order } from '../../src/domain/order.js';
import { startShop } from '../../src/roles/shop.js';
import { capturingLogs } from '../support/capture-logs.js';
import { FakeClock } from '../support/fake-clock.js';
import { testSettings } from '../support/settings.js';
import { openOrders, placeOrder, sampleOrder, viewStatus, waitFor } from '../support/shop.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const logs = capturingLogs();

/** True once `role` has logged that it heard the order's cancel: a hook, not a guess at timing. */
const heardCancel = (role: RoleName, order: Order) =>
  logs.lines.some((line) => line.role === role && line.orderId === order.orderId && line.msg === 'cancel requested');

async function shop(roles: RoleName[], options: { clock?: Clock; bus?: EmbeddedBus; settings?: Settings } = {}) {
  let settings = options.settings;
  if (!settings) {
    const fixture = testSettings({ timeScale: '1', capacity: '1' });
    cleanups.push(fixture.cleanup);
    settings = fixture.settings;
  }
  const bus = options.bus ?? new EmbeddedBus({ partitions: 2 });
  if (!options.bus) cleanups.push(() => bus.close());
  const running = await startShop({
    settings,
    roles,
    logs,
    bus,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  cleanups.push(() => running.stop());
  return { settings, bus, running };
}

function requestCancel(bus: EmbeddedBus, settings: Settings, order: Order) {
  return bus.publish(
    settings.topics.cancelRequested,
    order.orderId,
    encodeEvent({ timestamp: Date.now(), customer_id: order.customerId }),
  );
}

const ofOrder = (bus: EmbeddedBus, topic: string, order: Order): BusRecord[] =>
  bus.records(topic).filter((record) => record.key === order.orderId);

const outcomes = (bus: EmbeddedBus, settings: Settings, order: Order) =>
  ofOrder(bus, settings.topics.cancelled, order).map((record) => decodeEvent(cancelOutcomeSchema, record.value));

function outcomeInView(settings: Settings, order: Order) {
  const store = openOrders(settings);
  try {
    return cancelOutcomeOf(store.listEvents(order.orderId), settings.topics.cancelled, settings.statuses);
  } finally {
    store.close();
  }
}

describe('cancelling an order on the embedded bus', () => {
  it('never assembles an order cancelled before assemble took it', async () => {
    const fixture = testSettings({ timeScale: '0' });
    cleanups.push(fixture.cleanup);
    const { settings, bus } = await shop(['status'], { settings: fixture.settings });
    const order = await placeOrder(bus, settings);
    await requestCancel(bus, settings, order);

    // The kitchen starts after both: assemble learns the cancel from the topic before its first order.
    await shop(['assemble', 'bake', 'deliver'], { settings, bus });
    await waitFor(() => outcomes(bus, settings, order).length > 0, 'the cancellation');
    await waitFor(() => viewStatus(settings, order.orderId) === 499, 'cancelled in the view');

    expect(outcomes(bus, settings, order)).toEqual([{ status: 499, timestamp: expect.any(Number) }]);
    expect(ofOrder(bus, settings.topics.assembled, order)).toEqual([]);
    expect(ofOrder(bus, settings.topics.baked, order)).toEqual([]);
    expect(outcomeInView(settings, order)).toBe('cancelled');
  });

  it('never assembles an order whose cancel arrived before the order itself', async () => {
    const fixture = testSettings({ timeScale: '0' });
    cleanups.push(fixture.cleanup);
    const { settings, bus } = await shop(['assemble', 'bake', 'deliver', 'status'], { settings: fixture.settings });
    const order = sampleOrder();
    await requestCancel(bus, settings, order);
    // The cancel subscription has heard it (it reads beside the orders, not behind them)...
    await waitFor(() => heardCancel('assemble', order), 'assemble to hear the cancel');
    // ...and the order comes after.
    await placeOrder(bus, settings, order);
    await waitFor(() => viewStatus(settings, order.orderId) === 499, 'cancelled in the view');

    // A second order of the same kitchen is not held up.
    const other = await placeOrder(bus, settings);
    await waitFor(() => viewStatus(settings, other.orderId) === 999, 'the other order delivered');
    expect(ofOrder(bus, settings.topics.assembled, order)).toEqual([]);
    expect(outcomes(bus, settings, order).map((outcome) => outcome.status)).toEqual([499]);
  });

  it('stops assembling at once when the cancel comes mid-assembly', async () => {
    const clock = new FakeClock(Date.now());
    const { settings, bus } = await shop(['assemble', 'status'], { clock });
    const order = await placeOrder(bus, settings);
    await clock.whenSleeping();
    await requestCancel(bus, settings, order);
    await waitFor(() => outcomes(bus, settings, order).length > 0, 'the cancellation');
    expect(clock.sleeping).toHaveLength(0);
    expect(ofOrder(bus, settings.topics.assembled, order)).toEqual([]);
    await waitFor(() => viewStatus(settings, order.orderId) === 499, 'cancelled in the view');
  });

  it('takes a cancelled pizza out of the oven at once and frees its slot for the next', async () => {
    const clock = new FakeClock(Date.now());
    // One oven: the second pizza waits for the first.
    const { settings, bus } = await shop(['bake', 'status'], { clock });
    const [first, second] = [sampleOrder(), sampleOrder()] as [Order, Order];
    for (const order of [first, second]) await placeOrder(bus, settings, order);
    for (const order of [first, second]) {
      await bus.publish(
        settings.topics.assembled,
        order.orderId,
        encodeEvent({ status: 200, baking_time: 15, timestamp: Date.now() }),
      );
    }
    await clock.whenSleeping();
    expect(clock.sleeping[0]?.ms).toBe(15_000);

    await requestCancel(bus, settings, first);
    // The second pizza goes in with no sleep released: the first's slot was freed by the cancel.
    await waitFor(() => outcomes(bus, settings, first).length > 0, 'the cancellation');
    await waitFor(
      () => clock.sleeping.length === 1 && ofOrder(bus, settings.topics.baked, first).length === 0,
      'the second pizza in the oven',
    );
    await clock.advance(15_000);
    await waitFor(() => ofOrder(bus, settings.topics.baked, second).length === 1, 'the second pizza baked');

    expect(ofOrder(bus, settings.topics.baked, first)).toEqual([]);
    expect(outcomes(bus, settings, first).map((outcome) => outcome.status)).toEqual([499]);
    await waitFor(() => viewStatus(settings, first.orderId) === 499, 'the first cancelled in the view');
    await waitFor(() => viewStatus(settings, second.orderId) === 300, 'the second baked in the view');
  });

  it('refuses a cancel once the pizza is out for delivery, and delivers it', async () => {
    const clock = new FakeClock(Date.now());
    const { settings, bus } = await shop(['deliver', 'status'], { clock });
    const order = await placeOrder(bus, settings);
    await bus.publish(settings.topics.baked, order.orderId, encodeEvent({ status: 300, timestamp: Date.now() }));
    await clock.whenSleeping();

    await requestCancel(bus, settings, order);
    await waitFor(() => outcomes(bus, settings, order).length > 0, 'the refusal');
    expect(outcomes(bus, settings, order)).toEqual([
      { status: 300, refused: 'too-late', timestamp: expect.any(Number) },
    ]);
    // The delivery was not touched by the cancel.
    expect(clock.sleeping).toHaveLength(1);
    await clock.runUntilIdle();
    await waitFor(() => viewStatus(settings, order.orderId) === 999, 'delivered in the view');
    expect(outcomeInView(settings, order)).toBe('refused');
    expect(outcomes(bus, settings, order)).toHaveLength(1);
  });

  it('refuses a cancel that came before the baked pizza reached delivery, and delivers it', async () => {
    const fixture = testSettings({ timeScale: '0' });
    cleanups.push(fixture.cleanup);
    const { settings, bus } = await shop(['deliver', 'status'], { settings: fixture.settings });
    const order = await placeOrder(bus, settings);
    await requestCancel(bus, settings, order);
    await waitFor(() => heardCancel('deliver', order), 'deliver to hear the cancel');
    // The cancel reached bake too late: the pizza was baked already.
    await bus.publish(settings.topics.baked, order.orderId, encodeEvent({ status: 300, timestamp: Date.now() }));
    await waitFor(() => viewStatus(settings, order.orderId) === 999, 'delivered in the view');
    expect(outcomes(bus, settings, order).map((outcome) => outcome.refused)).toEqual(['too-late']);
    expect(outcomeInView(settings, order)).toBe('refused');
  });
  it('refuses once a cancel for a pizza pending at delivery, then delivers it when the order arrives', async () => {
    const fixture = testSettings({ timeScale: '0' });
    cleanups.push(fixture.cleanup);
    const { settings, bus } = await shop(['deliver', 'status'], { settings: fixture.settings });
    const order = sampleOrder();
    // Baked before delivery heard of the order: pending.
    await bus.publish(settings.topics.baked, order.orderId, encodeEvent({ status: 300, timestamp: Date.now() }));
    await waitFor(() => ofOrder(bus, settings.topics.pending, order).length === 1, 'pending');

    await requestCancel(bus, settings, order);
    await waitFor(() => outcomes(bus, settings, order).length > 0, 'the refusal');
    expect(outcomes(bus, settings, order)).toEqual([
      { status: 150, refused: 'too-late', timestamp: expect.any(Number) },
    ]);
    await placeOrder(bus, settings, order);
    await waitFor(() => ofOrder(bus, settings.topics.delivered, order).length === 1, 'delivered');
    // The order's arrival (pending, cancelled) did not refuse a second time.
    expect(outcomes(bus, settings, order)).toHaveLength(1);
  });

  // Issue 20: at-least-once, bake published pizza-baked and stopped before its commit; the redo
  // met the cancel that came meanwhile, and announced 499 for a pizza that was baked and delivered.
  it('announces no cancel when bake redoes a pizza it had baked before a crash: too late, and delivered', async () => {
    const clock = new FakeClock(Date.now());
    const { settings, bus } = await shop(['bake', 'deliver', 'status'], { clock });
    const order = await placeOrder(bus, settings);
    // The run that crashed: its pizza-baked is on the topic, its input was never committed.
    await bus.publish(settings.topics.baked, order.orderId, encodeEvent({ status: 300, timestamp: Date.now() }));
    await requestCancel(bus, settings, order);
    await waitFor(() => heardCancel('bake', order), 'bake heard the cancel');
    // The redo: the same pizza-assembled, read again.
    await bus.publish(
      settings.topics.assembled,
      order.orderId,
      encodeEvent({ status: 200, baking_time: 15, timestamp: Date.now() }),
    );
    await waitFor(
      () =>
        logs.lines.some(
          // Whatever it decided: announced the cancel, or let the pizza go on.
          (line) =>
            line.role === 'bake' && line.orderId === order.orderId && /cancelled|baked before/.test(String(line.msg)),
        ),
      "bake's redo done",
    );
    await clock.runUntilIdle();
    await waitFor(() => viewStatus(settings, order.orderId) === 999, 'delivered in the view');
    expect(outcomes(bus, settings, order)).toEqual([
      { status: 300, refused: 'too-late', timestamp: expect.any(Number) },
    ]);
    expect(outcomeInView(settings, order)).toBe('refused');
  });
});
