import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveFeed, type StatusChange } from '../../../src/adapters/http/live-feed.js';
import { type OrderLogChange, OrderLogStore } from '../../../src/adapters/sqlite/order-log-store.js';
import { OrdersStore } from '../../../src/adapters/sqlite/orders-store.js';
import { testSettings } from '../../support/settings.js';
import { sampleOrder } from '../../support/shop.js';

const fixture = testSettings();
fixture.cleanup();
const catalog = fixture.settings.statuses;

let store: OrdersStore;
let orderLogs: OrderLogStore;
let feed: LiveFeed;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeEach(() => {
  // The feed polls on an interval: the test moves time, so each poll happens when it says.
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  rejections.length = 0;
  process.on('unhandledRejection', onRejection);
  store = OrdersStore.open(':memory:');
  orderLogs = OrderLogStore.open(':memory:');
  feed = new LiveFeed({ store, roles: ['bake'], intervalMs: 10, log: pino({ level: 'silent' }), viewId: 'test-view' });
  feed.watchOrderLogs(orderLogs);
});
afterEach(() => {
  feed.close();
  store.close();
  orderLogs.close();
  process.off('unhandledRejection', onRejection);
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** Runs `count` polls of the feed (its interval is 10 ms), then lets a rejection they left be reported. */
async function polls(count: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(count * 10);
  await new Promise((resolve) => setImmediate(resolve));
}

let offset = 0;
function logLine(orderId: string, role: string, msg: string): void {
  orderLogs.append(
    orderId,
    { time: Date.now(), level: 30, role, msg, fields: {} },
    { topic: 'pizza-logs', partition: 0, offset: String(offset++) },
  );
}

function place(status = 100): string {
  const order = sampleOrder();
  store.placeOrder(order, { status, timestamp: Date.now() }, catalog, Date.now());
  return order.orderId;
}

describe('the live feed', () => {
  it('keeps polling through a store that throws, and delivers the changes once it reads again', async () => {
    const seen: StatusChange[] = [];
    feed.onStatus((change) => seen.push(change));
    const broken = vi.spyOn(store, 'statusChangesSince').mockImplementation(() => {
      throw new Error('database is locked');
    });
    const orderId = place();
    await polls(10);
    expect(broken).toHaveBeenCalledTimes(10);
    expect(seen).toEqual([]);

    broken.mockRestore();
    await polls(1);
    expect(seen).toEqual([{ orderId, status: 100, seq: expect.any(Number) }]);
    expect(rejections).toEqual([]);
  });

  it('survives a listener that throws (its store read fails), tells the other listeners, and goes on', async () => {
    const others: StatusChange[] = [];
    let failing = true;
    const reached: string[] = [];
    feed.onStatus((change) => {
      if (failing) throw new Error('the page could not read the order');
      reached.push(change.orderId);
    });
    feed.onStatus((change) => others.push(change));
    const first = place();
    await polls(1);
    expect(others).toHaveLength(1);
    // The change that made the listener throw is not sent again.
    await polls(5);

    failing = false;
    const second = place();
    await polls(1);
    expect(reached).toEqual([second]);
    expect(others.map((change) => change.orderId)).toEqual([first, second]);
    expect(rejections).toEqual([]);
  });

  it('announces new log lines by order and role, only for the roles pages show, each change once', async () => {
    const changes: OrderLogChange[] = [];
    logLine('0000abcd', 'bake', 'before anyone listened');
    feed.onLog((change) => changes.push(change));
    logLine('0000abcd', 'bake', 'baking');
    logLine('0000abcd', 'kafka', 'not a service a page shows');
    await polls(1);
    expect(changes).toHaveLength(1);
    await polls(5);
    expect(changes).toEqual([{ orderId: '0000abcd', role: 'bake', seq: 2 }]);
  });

  it('survives a closed store under a log listener, with no unhandled rejection', async () => {
    const roles: string[] = [];
    feed.onLog((change) => {
      roles.push(change.role);
      store.listEvents(change.orderId);
    });
    feed.onStatus(() => {});
    logLine('0000abcd', 'bake', 'baking');
    store.close();
    await polls(10);
    expect(roles).toEqual(['bake']);
    expect(rejections).toEqual([]);
  });
});
