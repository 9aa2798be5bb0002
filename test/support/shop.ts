import { join } from 'node:path';
import pino from 'pino';
import type { Bus } from '../../src/adapters/bus/bus.js';
import type { LoggerFactory } from '../../src/adapters/logs/logger.js';
import { OrdersStore } from '../../src/adapters/sqlite/orders-store.js';
import type { Settings } from '../../src/config/settings.js';
import { encodeEvent, orderedEvent } from '../../src/domain/events.js';
import { newCustomerId, newOrderId, type Order } from '../../src/domain/order.js';

/** Loggers that print nothing, for tests that don't read the log files. */
export function silentLogs(): LoggerFactory {
  const root = pino({ level: 'silent' });
  return { root, forRole: () => root, flush: () => {} };
}

export function sampleOrder(overrides: Partial<Order> = {}): Order {
  return {
    orderId: newOrderId(),
    customerId: newCustomerId(),
    username: 'tester',
    sauce: 'Tomato',
    cheese: 'Mozzarella',
    mainTopping: 'Pepperoni',
    extraToppings: ['Mushroom'],
    ...overrides,
  };
}

/** Places an order exactly as the web app does: publish, then write the view. */
export async function placeOrder(bus: Bus, settings: Settings, order: Order = sampleOrder()): Promise<Order> {
  const now = Date.now();
  const status = settings.statuses.ids.order_placed;
  await bus.publish(settings.topics.ordered, order.orderId, encodeEvent(orderedEvent(order, status, now)));
  const store = openOrders(settings);
  try {
    store.placeOrder(order, { status, timestamp: now }, settings.statuses, now);
  } finally {
    store.close();
  }
  return order;
}

export function openOrders(settings: Settings): OrdersStore {
  return OrdersStore.open(join(settings.shop.dataDir, settings.orders.fileName));
}

/**
 * Waits until `probe` gives something (not undefined or false), and returns it;
 * vi.waitFor does the polling. A probe that throws is tried again, and its last
 * error is what a timeout reports.
 */
export async function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  // Imported when called: scripts/bench loads this file outside vitest, where importing it throws.
  const { vi } = await import('vitest');
  return vi.waitFor(
    () => {
      const result = probe();
      if (result === undefined || result === false) throw new Error(`timed out waiting for ${what}`);
      return result;
    },
    { timeout: timeoutMs, interval: 25 },
  );
}

/** The statuses the view recorded for an order, in order. */
export function viewTimeline(settings: Settings, orderId: string): number[] {
  const store = openOrders(settings);
  try {
    return store.listEvents(orderId).map((event) => event.status);
  } finally {
    store.close();
  }
}

/** Reads an order's status from the view (opening and closing the file each time, as another process would). */
export function viewStatus(settings: Settings, orderId: string): number | undefined {
  const store = openOrders(settings);
  try {
    return store.getStatus(orderId)?.status;
  } finally {
    store.close();
  }
}
