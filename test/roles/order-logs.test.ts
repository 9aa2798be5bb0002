import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { createLoggerFactory, logFilePath } from '../../src/adapters/logs/logger.js';
import { decodeOrderLogRecord, encodeOrderLogValue } from '../../src/adapters/logs/order-log-line.js';
import { OrderLogStore } from '../../src/adapters/sqlite/order-log-store.js';
import type { Settings } from '../../src/config/settings.js';
import { systemClock } from '../../src/domain/clock.js';
import { encodeEvent } from '../../src/domain/events.js';
import { startOrderLogProjection } from '../../src/roles/order-logs.js';
import { startShop } from '../../src/roles/shop.js';
import { ShopHttpClient } from '../support/http-client.js';
import { createShopTopics, kafkaTestSettings, readTopic, recordCount } from '../support/kafka.js';
import { testSettings } from '../support/settings.js';
import { silentLogs, waitFor } from '../support/shop.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function host(flags: Parameters<typeof testSettings>[0] = {}): Settings {
  const fixture = testSettings({ timeScale: '0.001', ...flags });
  cleanups.push(fixture.cleanup);
  return fixture.settings;
}

function sharedBus(): EmbeddedBus {
  const bus = new EmbeddedBus({ partitions: 2 });
  cleanups.push(() => bus.close());
  return bus;
}

async function shop(settings: Settings, roles: Parameters<typeof startShop>[0]['roles'], bus: EmbeddedBus) {
  const logs = createLoggerFactory({ level: 'silent', logDir: undefined });
  const running = await startShop({ settings, roles, logs, bus });
  cleanups.push(() => running.stop());
  return running;
}

/** This host's copy of one role's lines about one order, read as the web app reads it. */
function linesOf(settings: Settings, orderId: string, role: string): string[] {
  const store = OrderLogStore.open(join(settings.shop.dataDir, settings.orders.fileName));
  try {
    return store.latestLines(orderId, role).map((stored) => stored.line.msg);
  } finally {
    store.close();
  }
}

async function bakeOne(bus: EmbeddedBus, settings: Settings, orderId: string): Promise<void> {
  await bus.publish(
    settings.topics.assembled,
    orderId,
    encodeEvent({ status: 200, baking_time: 10, timestamp: Date.now() }),
  );
}

const BAKE_LINES = ['baking the pizza', 'pizza baked, ready for delivery'];

describe('order log lines on the embedded bus', () => {
  it('shows a line bake logs about an order in the web host copy, once per line', async () => {
    const bus = sharedBus();
    const settings = host();
    await shop(settings, ['bake', 'serve'], bus);
    await bakeOne(bus, settings, '0000abcd');
    await waitFor(() => linesOf(settings, '0000abcd', 'bake').length === 2, 'the bake lines in the copy');
    expect(linesOf(settings, '0000abcd', 'bake')).toEqual(BAKE_LINES);
    // Two lines about the order went to the log topic, and nothing from the copy itself.
    const published = bus
      .records(settings.topics.logs)
      .flatMap((record) => decodeOrderLogRecord(record.key, record.value));
    expect(published.map((line) => [line.orderId, line.value.msg])).toEqual(BAKE_LINES.map((msg) => ['0000abcd', msg]));
  });

  it('reads on where it stopped after a restart, and a wiped data dir rebuilds its copy from the start', async () => {
    const bus = sharedBus();
    const kitchen = host();
    await shop(kitchen, ['bake'], bus);
    const first = host();
    const web = await shop(first, ['serve'], bus);
    await bakeOne(bus, kitchen, '0000abcd');
    await waitFor(() => linesOf(first, '0000abcd', 'bake').length === 2, 'the first order in the copy');
    await web.stop();

    await bakeOne(bus, kitchen, '0000abce');
    await shop(first, ['serve'], bus);
    await waitFor(() => linesOf(first, '0000abce', 'bake').length === 2, 'the second order after the restart');
    expect(linesOf(first, '0000abcd', 'bake')).toEqual(BAKE_LINES);

    // Another host, or this one with its data dir wiped: a new host id, so a new group that reads everything.
    const fresh = host();
    await shop(fresh, ['serve'], bus);
    await waitFor(() => linesOf(fresh, '0000abce', 'bake').length === 2, 'the copy rebuilt');
    expect(linesOf(fresh, '0000abcd', 'bake')).toEqual(BAKE_LINES);
  });

  it('starts where its own file says, and skips lines older than the retention', async () => {
    const bus = new EmbeddedBus({ partitions: 1 });
    cleanups.push(() => bus.close());
    const settings = host();
    const now = Date.now();
    const line = (msg: string, time = now) => encodeOrderLogValue({ time, level: 30, role: 'bake', msg, fields: {} });
    await bus.publish(settings.topics.logs, '0000abcd', line('read by an earlier run'));
    await bus.publish(settings.topics.logs, '0000abcd', line('from last week', now - 7 * 24 * 3_600_000));
    await bus.publish(settings.topics.logs, '0000abcd', line('new'));
    await bus.publish(settings.topics.logs, '0000abcd', Buffer.from('not a log line'));

    const store = OrderLogStore.open(join(settings.shop.dataDir, settings.orders.fileName));
    cleanups.push(() => store.close());
    store.savePosition({ topic: settings.topics.logs, partition: 0, offset: '1' });
    const projection = await startOrderLogProjection({
      bus,
      settings,
      clock: systemClock,
      log: silentLogs().root,
      store,
    });
    cleanups.push(() => projection.stop());
    await waitFor(
      () => store.storedPositions([{ topic: settings.topics.logs, partition: 0 }])[0]?.offset === '4',
      'the whole partition read',
    );
    expect(store.latestLines('0000abcd', 'bake').map((stored) => stored.line.msg)).toEqual(['new']);
  });
});

describe('order log lines on Kafka', () => {
  it("shows the kitchen host's lines about an order on another web host, which reads them from the topic", async () => {
    const kitchen = kafkaTestSettings({ flags: { timeScale: '0.001' } });
    await createShopTopics(kitchen);
    // The web host: the same topics and groups, its own data dir (so its own host id and copy) and its own bus.
    const webDir = host();
    const web: Settings = {
      ...kitchen,
      shop: { ...kitchen.shop, dataDir: webDir.shop.dataDir, logDir: webDir.shop.logDir },
    };
    const kitchenShop = await startShop({
      settings: kitchen,
      roles: ['assemble', 'bake', 'deliver', 'status'],
      logs: createLoggerFactory({ level: 'silent', logDir: kitchen.shop.logDir }),
    });
    cleanups.push(() => kitchenShop.stop());
    // As `pizza serve` runs it: the web app with its own view.
    const webShop = await startShop({
      settings: web,
      roles: ['serve', 'status'],
      logs: createLoggerFactory({ level: 'silent', logDir: web.shop.logDir }),
    });
    cleanups.push(() => webShop.stop());

    const customer = new ShopHttpClient(webShop.url ?? '');
    await customer.login('far-away');
    const orderId = await customer.order({
      sauce: 'Pesto',
      cheese: 'Gouda',
      mainTopping: 'Chicken',
      extraToppings: [],
    });
    // The page words the lines for customers: "Baking your pizza…", "Baked, ready for delivery".
    const page = await customer.waitForPage(`/orders/${orderId}/logs/bake`, 'Baked, ready for delivery', 60_000);
    expect(page).toContain('Baking your pizza');
    expect(page).toContain('Baked, ready for delivery');
    // Not from a file: the bake role never ran on the web host.
    expect(existsSync(logFilePath(web.shop.logDir, 'bake'))).toBe(false);
    const deliverPage = await customer.waitForPage(`/orders/${orderId}/logs/deliver`, 'Delivered', 60_000);
    expect(deliverPage).toContain('Delivered');
    // The status service's lines come from this host's own view, once each, though two hosts run a view.
    const statusPage = await customer.waitForPage(`/orders/${orderId}/logs/status`, 'Your pizza was delivered', 60_000);
    expect(statusPage.split('Your pizza was delivered').length - 1).toBe(1);

    // What one order costs on the log topic: its info lines by role, in records that may carry other orders' lines too.
    await kitchenShop.stop();
    await webShop.stop();
    const records = await readTopic(kitchen.topics.logs, await recordCount(kitchen.topics.logs));
    const perRole: Record<string, number> = {};
    let bytes = 0;
    for (const record of records) {
      const lines = decodeOrderLogRecord(record.key, record.value).filter((line) => line.orderId === orderId);
      for (const line of lines) perRole[line.value.role] = (perRole[line.value.role] ?? 0) + 1;
      if (lines.length > 0) bytes += record.value.length + record.key.length;
    }
    console.info(`log topic lines for one order: ${JSON.stringify(perRole)}, ${bytes} bytes of keys and values`);
    expect(perRole.bake).toBe(2);
    // Each host's view writes its own status lines: none of them travels on the topic.
    expect(perRole.status).toBeUndefined();
    expect(Object.values(perRole).reduce((sum, count) => sum + count, 0)).toBeLessThanOrEqual(20);
  });
});
