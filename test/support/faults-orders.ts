/**
 * Orders for fault trials: placed as a customer does (HTTP with login and
 * CSRF, through `serve`), and followed to the end on the topics and in the
 * orders view.
 */
import { appendFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { vi } from 'vitest';
import type { FaultShop } from './faults-shop.js';
import { ShopHttpClient } from './http-client.js';

const SAUCES = ['Tomato', 'Organic tomato', 'Pesto', 'Marinara', 'Buffalo', 'Hummus'];
const CHEESES = ['Mozzarella', 'Provolone', 'Cheddar', 'Ricotta', 'Gouda', 'Gruyere'];
const MAINS = ['Pepperoni', 'Sausage', 'Chicken', 'Pork', 'Minced meat', 'Vegan meat'];
const EXTRAS = ['Mushroom', 'Onion', 'Egg', 'Ham', 'Black olives', 'Green pepper', 'Fresh garlic'];

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const DELIVERED = 999;
export const STUCK = 50;

export interface PlaceOptions {
  count: number;
  /** One attempt starts this often. */
  intervalMs?: number;
  maxInFlight?: number;
  /** Attempts stop after this long even when fewer than `count` succeeded. */
  timeoutMs?: number;
  /** A note for the driver on each of these orders (none by default). */
  deliveryNote?: string;
}

/**
 * Places orders over HTTP at a steady pace, several in flight, and keeps
 * trying while `serve` is down. An order counts as placed once the web app
 * answered with its id; an attempt cut off with no answer is not counted.
 */
export class OrderPlacer {
  readonly placed = new Map<string, number>();
  /** The note for the driver each order was placed with, for those that had one. */
  readonly notes = new Map<string, string>();
  failures = 0;
  lastFailure = '';
  private readonly client: ShopHttpClient;
  private login: Promise<void> | undefined;

  constructor(url: string) {
    this.client = new ShopHttpClient(url);
  }

  get ids(): string[] {
    return [...this.placed.keys()];
  }

  /** Resolves once `count` orders have been placed in all (by this placer, over every run). */
  async placedAtLeast(count: number, timeoutMs = 60_000): Promise<void> {
    await vi.waitFor(
      () => {
        if (this.placed.size < count) throw new Error(`only ${this.placed.size} of ${count} orders placed`);
      },
      { timeout: timeoutMs, interval: 50 },
    );
  }

  /** Places `count` more orders; resolves with their ids once the last attempt has an answer. */
  async place(options: PlaceOptions): Promise<string[]> {
    const { count, intervalMs = 150, maxInFlight = 6, timeoutMs = 120_000, deliveryNote } = options;
    const ids: string[] = [];
    const inFlight = new Set<Promise<void>>();
    const deadline = Date.now() + timeoutMs;
    while (ids.length + inFlight.size < count && Date.now() < deadline) {
      if (inFlight.size >= maxInFlight) {
        await Promise.race(inFlight);
        continue;
      }
      const attempt = this.attempt(deliveryNote).then((orderId) => {
        inFlight.delete(attempt);
        if (orderId) ids.push(orderId);
      });
      inFlight.add(attempt);
      // The load's pace, not a wait for anything.
      await sleep(intervalMs);
    }
    await Promise.all(inFlight);
    return ids;
  }

  private async attempt(deliveryNote: string | undefined): Promise<string | undefined> {
    try {
      this.login ??= this.client.login(`faults-${Math.random().toString(16).slice(2, 8)}`);
      await this.login;
      const extras = EXTRAS.filter(() => Math.random() < 0.3);
      const orderId = await this.client.order({
        sauce: pick(SAUCES),
        cheese: pick(CHEESES),
        mainTopping: pick(MAINS),
        extraToppings: extras,
        ...(deliveryNote === undefined ? {} : { deliveryNote }),
      });
      this.placed.set(orderId, Date.now());
      if (deliveryNote !== undefined) this.notes.set(orderId, deliveryNote);
      return orderId;
    } catch (error) {
      this.failures += 1;
      this.lastFailure = error instanceof Error ? `${error.message} ${String(error.cause ?? '')}` : String(error);
      this.login = undefined; // A restarted web app may want a fresh session.
      // A pause before this slot frees up, so a web app that is down is not hammered: pacing, not a wait for anything.
      await sleep(200);
      return undefined;
    }
  }
}

/** Reads the orders view as another process would: read-only, opened per look. */
export function withView<T>(shop: FaultShop, read: (db: Database.Database) => T): T | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(shop.viewDb, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return read(db);
  } catch (error) {
    if (error instanceof Error && /unable to open|does not exist|no such table/i.test(error.message)) return undefined;
    throw error;
  } finally {
    db?.close();
  }
}

/** Orders whose status in the view is `delivered`. */
export function deliveredInView(shop: FaultShop, orderIds: readonly string[]): Set<string> {
  const rows =
    withView(shop, (db) => db.prepare('SELECT order_id, status FROM status WHERE status = ?').all(DELIVERED)) ?? [];
  const wanted = new Set(orderIds);
  return new Set(
    (rows as Array<{ order_id: string }>).map((row) => row.order_id).filter((orderId) => wanted.has(orderId)),
  );
}

/** Orders with a record on `pizza-delivered`. */
export function deliveredOnTopic(shop: FaultShop, orderIds: readonly string[]): Set<string> {
  const keys = shop.recorder.keyCounts(shop.topics.delivered);
  return new Set(orderIds.filter((orderId) => keys.has(orderId)));
}

/** Polls until every order is delivered on the topic and in the view, or the time is up; returns the missing. */
export async function waitForDelivered(shop: FaultShop, orderIds: readonly string[], timeoutMs: number) {
  const look = () => {
    const onTopic = deliveredOnTopic(shop, orderIds);
    const inView = deliveredInView(shop, orderIds);
    const missing = orderIds.filter((orderId) => !onTopic.has(orderId) || !inView.has(orderId));
    return { missing, onTopic, inView };
  };
  let last = look();
  const failed = await vi
    .waitFor(
      () => {
        // A failed look (not a view still missing) ends the wait at once, as an error.
        try {
          last = look();
        } catch (error) {
          return { error };
        }
        if (last.missing.length > 0) throw new Error(`${last.missing.length} orders not delivered yet`);
        return undefined;
      },
      { timeout: timeoutMs, interval: 500 },
    )
    // Time is up: the caller reports what is still missing.
    .catch(() => undefined);
  if (failed) throw failed.error;
  return last;
}

/** Prints a trial's summary line; with PIZZA_FAULTS_SUMMARY=FILE, also appends its figures there as JSON. */
export function recordSummary(line: string, figures: Record<string, unknown>): void {
  console.log(line);
  const file = process.env.PIZZA_FAULTS_SUMMARY;
  if (file) appendFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...figures })}\n`);
}
