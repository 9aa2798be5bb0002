import Database from 'better-sqlite3';
import { ShopHttpClient } from '../../test/support/http-client.js';
import { sleep } from './util.js';

/** What every bench customer orders. */
export const PIZZA = { sauce: 'Tomato', cheese: 'Mozzarella', mainTopping: 'Pepperoni', extraToppings: ['Mushroom'] };

/** The workshop's `delivered` status id. */
const DELIVERED = 999;

/** One order as the load generator saw it: when its POST went out and when the web app accepted it (epoch ms). */
export interface PlacedOrder {
  orderId: string;
  sentAt: number;
  acceptedAt: number;
}

export interface LoadRun {
  placed: PlacedOrder[];
  /** POSTs that failed (a reset connection, an error page): open loop only, which keeps sending. */
  failed: number;
  /** The first failure's message, to say why. */
  firstError?: string | undefined;
  startedAt: number;
  /** When the last POST was sent (open loop; the closed loop's is its end). */
  sentUntil: number;
  /** When the last POST was answered. */
  endedAt: number;
}

/** Logs `count` customers in through the real login page, ready to order. */
export async function customers(baseUrl: string, count: number, prefix = 'bench'): Promise<ShopHttpClient[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const client = new ShopHttpClient(baseUrl);
      await client.login(`${prefix}${index}`);
      return client;
    }),
  );
}

async function place(client: ShopHttpClient): Promise<PlacedOrder> {
  const sentAt = Date.now();
  const orderId = await client.order(PIZZA);
  return { orderId, sentAt, acceptedAt: Date.now() };
}

/** Closed loop: each customer orders again as soon as the last order is accepted, until `total` are placed. */
export async function closedLoop(clients: readonly ShopHttpClient[], total: number): Promise<LoadRun> {
  const placed: PlacedOrder[] = [];
  const startedAt = Date.now();
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < total) {
        next += 1;
        placed.push(await place(client));
      }
    }),
  );
  const endedAt = Date.now();
  return { placed, failed: 0, startedAt, sentUntil: endedAt, endedAt };
}

/** Open loop: orders go out on schedule, `rate` a second for `seconds`, whatever the answers. */
export async function openLoop(clients: readonly ShopHttpClient[], rate: number, seconds: number): Promise<LoadRun> {
  const total = Math.round(rate * seconds);
  const placed: PlacedOrder[] = [];
  const inFlight = new Set<Promise<void>>();
  let failed = 0;
  let firstError: string | undefined;
  const startedAt = Date.now();
  for (let i = 0; i < total; i += 1) {
    const wait = startedAt + (i * 1000) / rate - Date.now();
    if (wait > 0) await sleep(wait);
    const client = clients[i % clients.length] as ShopHttpClient;
    // A shop overwhelmed at a high rate may reset connections: count them, and keep the schedule.
    const request = place(client).then(
      (order) => void placed.push(order),
      (error: unknown) => {
        failed += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      },
    );
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }
  const sentUntil = Date.now();
  await Promise.all(inFlight);
  return { placed, failed, firstError, startedAt, sentUntil, endedAt: Date.now() };
}

/**
 * When orders were delivered in the web host's orders view (the status row's
 * update time), read-only like any other reader. Delivered is final in the
 * forward-only view, so each poll reads only rows updated since the last one
 * (with a margin for transactions that commit out of order).
 */
export class DeliveryWatch {
  readonly delivered = new Map<string, number>();
  private readonly db: Database.Database;
  private readonly query: Database.Statement;
  private since = 0;

  constructor(dbFile: string) {
    this.db = new Database(dbFile, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 2000');
    this.query = this.db.prepare('SELECT order_id, updated_at FROM status WHERE status = ? AND updated_at >= ?');
  }

  poll(): Map<string, number> {
    const rows = this.query.all(DELIVERED, this.since) as Array<{ order_id: string; updated_at: number }>;
    for (const row of rows) {
      this.delivered.set(row.order_id, row.updated_at);
      this.since = Math.max(this.since, row.updated_at - 10_000);
    }
    return this.delivered;
  }

  /** Waits until every order is delivered; throws after `timeoutMs` naming how many were. */
  async waitFor(orderIds: readonly string[], timeoutMs: number): Promise<Map<string, number>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = this.missing(orderIds);
      if (missing === 0) return this.delivered;
      if (Date.now() > deadline) {
        throw new Error(
          `only ${orderIds.length - missing} of ${orderIds.length} orders delivered within ${timeoutMs / 1000} s`,
        );
      }
      await sleep(100);
    }
  }

  /** How many of these orders are not delivered yet, after a fresh poll. */
  missing(orderIds: readonly string[]): number {
    this.poll();
    return orderIds.reduce((count, orderId) => count + (this.delivered.has(orderId) ? 0 : 1), 0);
  }

  close(): void {
    this.db.close();
  }
}
