import type { Logger } from 'pino';
import type { Settings } from '../../config/settings.js';
import type { Clock } from '../../domain/clock.js';
import { encodeEvent, orderedEvent } from '../../domain/events.js';
import { HEADERS } from '../../domain/headers.js';
import type { Order } from '../../domain/order.js';
import type { Bus } from '../bus/bus.js';
import type { OrdersStore, OrderView } from '../sqlite/orders-store.js';

/** How long a `placing` order is given to show up in the status role's view before it is published again. */
export const DEFAULT_PLACING_WINDOW_MS = 10_000;
/** How often a `placing` order is looked at while that window runs. */
const PLACING_POLL_MS = 200;

export type PlacementOutcome =
  /** `again`: the customer's key had already placed this order; nothing was published now. */
  { placed: true; orderId: string; again: boolean } | { placed: false; orderId: string; error: unknown };

export interface OrderPlacementOptions {
  settings: Settings;
  store: OrdersStore;
  bus: Bus;
  clock: Clock;
  log: Logger;
  /** See DEFAULT_PLACING_WINDOW_MS. */
  placingWindowMs?: number;
}

/**
 * Places orders so that a customer is never told an order failed when it was
 * placed, and one form never places two orders.
 *
 * The order is written as `placing` (with the form's idempotency key) before
 * `pizza-ordered` is published with the key in a header, then confirmed. A
 * failed publish marks it `failed`: the customer is told it was not placed,
 * and sending the same form again publishes the same order id once more.
 *
 * A crash between the write and the publish leaves a `placing` row. It is
 * settled at serve start (and when the customer sends the form again) by one
 * bounded rule, without reading Kafka: an event of the order in the status
 * role's view proves it is on `pizza-ordered`, and confirms it (the status
 * role confirms such rows itself as it applies their events). With no event
 * after the window, the order is published again with the same id, key and
 * header. That is at-least-once: if the status role was down for the whole
 * window and the first publish did land, `pizza-ordered` holds the order
 * twice; the forward-only status view ignores the second, so the customer
 * still sees one order.
 */
export class OrderPlacement {
  /** One settling or publishing per order id at a time, in this process. */
  private readonly inFlight = new Map<string, Promise<PlacementOutcome>>();
  private readonly windowMs: number;

  constructor(private readonly options: OrderPlacementOptions) {
    this.windowMs = options.placingWindowMs ?? DEFAULT_PLACING_WINDOW_MS;
  }

  /** Places a new order from a form, or answers for the order this key already made. */
  async place(order: Order, idempotencyKey: string, signal?: AbortSignal): Promise<PlacementOutcome> {
    const { store, clock } = this.options;
    const { order: row, created } = await store.shared((writes) =>
      writes.beginPlacement(order, idempotencyKey, clock.now()),
    );
    if (created) return this.once(row.orderId, () => this.publish(row, 'tell-customer'));
    if (row.placement === 'placed') return { placed: true, orderId: row.orderId, again: true };
    return this.settle(row.orderId, row.placement === 'placing' ? this.windowMs : 0, signal);
  }

  /**
   * Settles every order a crash left `placing`, by the rule above; resolves
   * when all are settled, or rejects with the signal's reason when it aborts.
   */
  async reconcile(signal?: AbortSignal): Promise<{ confirmed: number; published: number; unsettled: number }> {
    const rows = this.options.store.ordersBeingPlaced();
    const counts = { confirmed: 0, published: 0, unsettled: 0 };
    if (rows.length === 0) return counts;
    this.options.log.info({ orders: rows.length }, 'settling orders a previous run left being placed');
    const outcomes = await Promise.all(rows.map((row) => this.settle(row.orderId, this.windowMs, signal, 'keep')));
    for (const outcome of outcomes) {
      if (!outcome.placed) counts.unsettled += 1;
      else if (outcome.again) counts.confirmed += 1;
      else counts.published += 1;
    }
    return counts;
  }

  private settle(
    orderId: string,
    waitMs: number,
    signal: AbortSignal | undefined,
    onFailure: 'tell-customer' | 'keep' = 'tell-customer',
  ): Promise<PlacementOutcome> {
    return this.once(orderId, async () => {
      const { store, clock, settings } = this.options;
      const deadline = clock.now() + waitMs;
      // Watches the view until the order shows or time is up, on the shop's clock: a poll, not a retry of a failure.
      for (;;) {
        const row = store.getOrder(orderId);
        if (!row) return { placed: false, orderId, error: new Error('the order is no longer in the view') };
        if (row.placement === 'placed') return { placed: true, orderId, again: true };
        if (store.hasEvents(orderId)) {
          await store.shared((writes) =>
            writes.confirmPlacement(orderId, this.firstStatus(row.createdAt), settings.statuses, clock.now()),
          );
          this.options.log.info({ orderId }, 'order confirmed by the status view: it is on pizza-ordered');
          return { placed: true, orderId, again: true };
        }
        const left = deadline - clock.now();
        if (row.placement === 'failed' || left <= 0) return this.publish(row, onFailure);
        await clock.sleep(Math.min(PLACING_POLL_MS, left), signal);
      }
    });
  }

  /** Publishes `pizza-ordered` for a row written before, then confirms it, or records the failure. */
  private async publish(row: OrderView, onFailure: 'tell-customer' | 'keep'): Promise<PlacementOutcome> {
    const { settings, store, bus, clock, log } = this.options;
    const orderId = row.orderId;
    const now = clock.now();
    const status = this.firstStatus(now);
    const headers = row.idempotencyKey ? { [HEADERS.idempotencyKey]: row.idempotencyKey } : undefined;
    try {
      await bus.publish(
        settings.topics.ordered,
        row.orderId,
        encodeEvent(orderedEvent(row, status.status, now)),
        headers,
      );
    } catch (error) {
      if (onFailure === 'tell-customer') {
        await store.shared((writes) => writes.failPlacement(row.orderId));
        log.error({ err: error, orderId }, 'could not publish the order; it was not placed');
      } else {
        log.error({ err: error, orderId }, 'could not publish the order; it stays being placed until the next try');
      }
      return { placed: false, orderId: row.orderId, error };
    }
    await store.shared((writes) => writes.confirmPlacement(row.orderId, status, settings.statuses, clock.now()));
    // The order id in the line, not a child logger per order: a child costs more than the line.
    log.info(
      { orderId, sauce: row.sauce, cheese: row.cheese, mainTopping: row.mainTopping },
      'order placed, pizza-ordered published',
    );
    return { placed: true, orderId: row.orderId, again: false };
  }

  private once(orderId: string, work: () => Promise<PlacementOutcome>): Promise<PlacementOutcome> {
    const running = this.inFlight.get(orderId);
    if (running) return running;
    const started = work().finally(() => this.inFlight.delete(orderId));
    this.inFlight.set(orderId, started);
    return started;
  }

  private firstStatus(timestamp: number) {
    return { status: this.options.settings.statuses.ids.order_placed, timestamp };
  }
}
