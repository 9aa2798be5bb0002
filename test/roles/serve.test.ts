import { statSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { ShopMetrics } from '../../src/adapters/metrics/shop-metrics.js';
import type { Settings } from '../../src/config/settings.js';
import { systemClock } from '../../src/domain/clock.js';
import { HEADERS } from '../../src/domain/headers.js';
import { createServeRole, resolveSessionSecret } from '../../src/roles/serve.js';
import { ShopStores } from '../../src/roles/shop-stores.js';
import { testSettings } from '../support/settings.js';
import { openOrders, sampleOrder } from '../support/shop.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The stores a shop would pass its roles; closed after the test, as the shop closes them after its roles. */
function storesFor(settings: Settings): ShopStores {
  const stores = new ShopStores(settings);
  cleanups.push(() => stores.close());
  return stores;
}

function settingsForTest() {
  const made = testSettings();
  cleanups.push(made.cleanup);
  return made.settings;
}

describe('serve role', () => {
  it('generates a session secret on first run, keeps it private in the data dir, and reuses it', () => {
    const settings = settingsForTest();
    const first = resolveSessionSecret(settings);
    expect(first.length).toBeGreaterThanOrEqual(32);
    const file = join(settings.shop.dataDir, 'session-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(resolveSessionSecret(settings)).toBe(first);
    const other = settingsForTest();
    expect(resolveSessionSecret(other)).not.toBe(first);
  });

  it('uses the configured session secret when there is one', () => {
    const settings = settingsForTest();
    const configured = { ...settings, shop: { ...settings.shop, sessionSecret: 'configured-secret-of-enough-length' } };
    expect(resolveSessionSecret(configured)).toBe('configured-secret-of-enough-length');
  });

  it('listens on a free port, reports its URL, and stops idempotently', async () => {
    const settings = settingsForTest();
    const bus = new EmbeddedBus({ partitions: 1 });
    cleanups.push(() => bus.close());
    const role = createServeRole({
      bus,
      settings,
      clock: systemClock,
      log: pino({ level: 'silent' }),
      metrics: new ShopMetrics(),
      stores: storesFor(settings),
    });
    await role.start();
    const url = role.url();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
    const response = await fetch(`${url}/health-check`);
    expect(await response.text()).toBe('Ok');
    await role.stop();
    await role.stop();
    expect(role.url()).toBeUndefined();
    await expect(fetch(`${url}/health-check`)).rejects.toThrow();
  });
});

describe('serve role: orders a crash left being placed', () => {
  const KEY = '0f8fad5b-d9cb-469f-a165-70867728950e';

  /** What a serve that crashed between writing the order and publishing it leaves in the view. */
  function crashedPlacement(settings: Settings, withEvent: boolean) {
    const order = sampleOrder();
    const store = openOrders(settings);
    try {
      store.beginPlacement(order, KEY, Date.now());
      if (withEvent) {
        store.recordEvent({
          orderId: order.orderId,
          topic: settings.topics.ordered,
          partition: 0,
          offset: '3',
          status: 100,
          eventTimestamp: Date.now(),
          receivedAt: Date.now(),
        });
      }
    } finally {
      store.close();
    }
    return order;
  }

  async function runServe(settings: Settings, bus: EmbeddedBus, placingWindowMs: number): Promise<void> {
    const stores = new ShopStores(settings);
    const role = createServeRole(
      { bus, settings, clock: systemClock, log: pino({ level: 'silent' }), metrics: new ShopMetrics(), stores },
      { placingWindowMs },
    );
    await role.start();
    try {
      await role.settled();
    } finally {
      await role.stop();
      stores.close();
    }
  }

  it('publishes it again at start, once, with its id and key, after the window; a second start publishes nothing', async () => {
    const settings = settingsForTest();
    const bus = new EmbeddedBus({ partitions: 1 });
    cleanups.push(() => bus.close());
    const order = crashedPlacement(settings, false);

    const started = Date.now();
    await runServe(settings, bus, 150);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    const records = bus.records(settings.topics.ordered);
    expect(records.map((record) => record.key)).toEqual([order.orderId]);
    expect(records[0]?.headers[HEADERS.idempotencyKey]?.toString()).toBe(KEY);
    const store = openOrders(settings);
    try {
      expect(store.getOrder(order.orderId)).toMatchObject({ placement: 'placed', status: 100, idempotencyKey: KEY });
    } finally {
      store.close();
    }

    await runServe(settings, bus, 150);
    expect(bus.records(settings.topics.ordered)).toHaveLength(1);
  });

  it('confirms it without publishing when the status view has an event of it', async () => {
    const settings = settingsForTest();
    const bus = new EmbeddedBus({ partitions: 1 });
    cleanups.push(() => bus.close());
    const order = crashedPlacement(settings, true);

    await runServe(settings, bus, 60_000);
    expect(bus.records(settings.topics.ordered)).toHaveLength(0);
    const store = openOrders(settings);
    try {
      expect(store.getOrder(order.orderId)?.placement).toBe('placed');
    } finally {
      store.close();
    }
  });

  it('stops at once while the window runs, and publishes nothing', async () => {
    const settings = settingsForTest();
    const bus = new EmbeddedBus({ partitions: 1 });
    cleanups.push(() => bus.close());
    const order = crashedPlacement(settings, false);
    const role = createServeRole(
      {
        bus,
        settings,
        clock: systemClock,
        log: pino({ level: 'silent' }),
        metrics: new ShopMetrics(),
        stores: storesFor(settings),
      },
      { placingWindowMs: 60_000 },
    );
    await role.start();
    const started = Date.now();
    await role.stop();
    await role.settled();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(bus.records(settings.topics.ordered)).toHaveLength(0);
    const store = openOrders(settings);
    try {
      expect(store.getOrder(order.orderId)?.placement).toBe('placing');
    } finally {
      store.close();
    }
  });
});
