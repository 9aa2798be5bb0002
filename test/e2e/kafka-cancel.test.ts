import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { RoleName, Settings } from '../../src/config/settings.js';
import type { Clock } from '../../src/domain/clock.js';
import { cancelOutcomeSchema, decodeEvent, encodeEvent } from '../../src/domain/events.js';
import type { Order } from '../../src/domain/order.js';
import { type RunningShop, startShop } from '../../src/roles/shop.js';
import { capturingLogs } from '../support/capture-logs.js';
import { createShopTopics, kafkaTestSettings, readTopic, recordCount } from '../support/kafka.js';
import { placeOrder, sampleOrder, viewStatus, waitFor } from '../support/shop.js';

/** Sleeps that last until the test wakes them (or their signal aborts): a bake takes as long as the test says. */
class GatedClock implements Clock {
  readonly sleeping: Array<{ ms: number; wake(): void }> = [];
  now(): number {
    return Date.now();
  }
  monotonic(): number {
    return performance.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const entry = {
        ms,
        wake: () => {
          this.sleeping.splice(this.sleeping.indexOf(entry), 1);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.sleeping.splice(this.sleeping.indexOf(entry), 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleeping.push(entry);
    });
  }
}

const logs = capturingLogs();

async function shop(settings: Settings, roles: RoleName[], clock?: Clock): Promise<RunningShop> {
  const running = await startShop({ settings, roles, logs, ...(clock ? { clock } : {}) });
  onTestFinished(() => running.stop());
  return running;
}

function requestCancel(running: RunningShop, settings: Settings, order: Order) {
  return running.bus.publish(
    settings.topics.cancelRequested,
    order.orderId,
    encodeEvent({ timestamp: Date.now(), customer_id: order.customerId }),
  );
}

/** The outcomes on pizza-cancelled for one order, once `count` records are on the topic. */
async function outcomes(settings: Settings, order: Order, count: number) {
  const records = await readTopic(settings.topics.cancelled, count, 60_000);
  return records
    .filter((record) => record.key === order.orderId)
    .map((record) => decodeEvent(cancelOutcomeSchema, record.value));
}

const heardCancel = (role: RoleName, order: Order, since = 0) =>
  logs.lines
    .slice(since)
    .some((line) => line.role === role && line.orderId === order.orderId && line.msg === 'cancel requested');

describe('cancelling an order on Kafka', () => {
  it('takes a cancelled pizza out of the oven at once and bakes the next in its slot', async () => {
    const settings = kafkaTestSettings({ partitions: 2, flags: { timeScale: '1', capacity: '1' } });
    // Returns once the broker lists every topic, so the roles find them at once.
    await createShopTopics(settings);
    const clock = new GatedClock();
    const running = await shop(settings, ['bake', 'status'], clock);
    const [first, second] = [sampleOrder(), sampleOrder()] as [Order, Order];
    for (const order of [first, second]) await placeOrder(running.bus, settings, order);
    for (const order of [first, second]) {
      await running.bus.publish(
        settings.topics.assembled,
        order.orderId,
        encodeEvent({ status: 200, baking_time: 15, timestamp: Date.now() }),
      );
    }
    // One oven: one pizza in, the other waiting for the slot.
    await waitFor(() => clock.sleeping.length === 1, 'a pizza in the oven', 60_000);
    const inOven = logs.lines.find((line) => line.role === 'bake' && line.msg === 'baking the pizza')?.orderId;
    const [cancelled, next] = inOven === first.orderId ? [first, second] : [second, first];

    await requestCancel(running, settings, cancelled);
    expect(await outcomes(settings, cancelled, 1)).toEqual([{ status: 499, timestamp: expect.any(Number) }]);
    // The next pizza went in without any bake finishing: the cancel freed the slot.
    await waitFor(
      () =>
        clock.sleeping.length === 1 &&
        logs.lines.some(
          (line) => line.role === 'bake' && line.orderId === next.orderId && line.msg === 'baking the pizza',
        ),
      'the next pizza in the oven',
      60_000,
    );
    clock.sleeping[0]?.wake();
    const baked = await readTopic(settings.topics.baked, 1, 60_000);
    expect(baked.map((record) => record.key)).toEqual([next.orderId]);
    await waitFor(() => viewStatus(settings, cancelled.orderId) === 499, 'cancelled in the view', 60_000);
    await waitFor(() => viewStatus(settings, next.orderId) === 300, 'the next baked in the view', 60_000);
  });

  it('knows a cancel from Kafka alone: assemble restarted on another host never assembles the order that comes after', async () => {
    const settings = kafkaTestSettings({ partitions: 2, flags: { timeScale: '0' } });
    // Returns once the broker lists every topic, so the roles find them at once.
    await createShopTopics(settings);
    const order = sampleOrder();

    const first = await shop(settings, ['assemble', 'status']);
    await requestCancel(first, settings, order);
    await waitFor(() => heardCancel('assemble', order), 'assemble to hear the cancel', 60_000);
    await first.stop();

    // Another host: its own data dir (so its own per-host cancel group), a fresh memory.
    const otherDir = mkdtempSync(join(tmpdir(), 'pizza-other-host-'));
    onTestFinished(() => rmSync(otherDir, { recursive: true, force: true }));
    const elsewhere: Settings = { ...settings, shop: { ...settings.shop, dataDir: otherDir } };
    const before = logs.lines.length;
    const second = await shop(elsewhere, ['assemble', 'status']);
    await waitFor(
      () =>
        logs.lines.slice(before).some((line) => line.role === 'assemble' && line.msg === 'cancels read from the topic'),
      'the cancels restored on assignment',
      60_000,
    );
    // The order comes only now, after the cancel and the restart.
    await placeOrder(second.bus, elsewhere, order);
    const other = await placeOrder(second.bus, elsewhere);
    await waitFor(() => viewStatus(elsewhere, order.orderId) === 499, 'cancelled in the view', 60_000);
    await waitFor(() => viewStatus(elsewhere, other.orderId) === 200, 'the other order assembled', 60_000);

    expect(await outcomes(settings, order, 1)).toEqual([{ status: 499, timestamp: expect.any(Number) }]);
    const assembled = await readTopic(settings.topics.assembled, 1, 60_000);
    expect(assembled.map((record) => record.key)).toEqual([other.orderId]);
    expect(await recordCount(settings.topics.assembled)).toBe(1);
  });
});
