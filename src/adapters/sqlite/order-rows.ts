import type { Order } from '../../domain/order.js';
import { applyStatusEvent, type IncomingStatus, type OrderStatus } from '../../domain/status-view.js';
import type { StatusCatalog } from '../../domain/statuses.js';
import type { StatementCache } from './database.js';
import { type OrderRow, type OrderView, type Placement, SELECT_ORDER, toView } from './orders-schema.js';

/** The web form's idempotency key: a random UUID, lower-case. */
export const IDEMPOTENCY_KEY_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isIdempotencyKey(value: unknown): value is string {
  return typeof value === 'string' && IDEMPOTENCY_KEY_PATTERN.test(value);
}

/**
 * The rows that placement, the view and the watchdog all write: an order, its
 * status and the change numbers. Call inside a write transaction.
 */
export class OrderRows {
  /** While numbering a batch: the last number taken, written back once at its end. */
  private batchSeq: number | undefined;

  constructor(private readonly sql: StatementCache) {}

  /**
   * Runs `work`, which may make many changes, taking their numbers in memory
   * and writing the last one back once. Call inside a write transaction (it
   * holds the file's write lock, so no other process numbers a change meanwhile).
   */
  numberingOnce<T>(work: () => T): T {
    if (this.batchSeq !== undefined) return work();
    this.batchSeq = (this.sql('SELECT seq FROM status_changes WHERE id = 1').get() as { seq: number }).seq;
    const before = this.batchSeq;
    try {
      const result = work();
      if (this.batchSeq !== before) this.sql('UPDATE status_changes SET seq = ? WHERE id = 1').run(this.batchSeq);
      return result;
    } finally {
      this.batchSeq = undefined;
    }
  }

  /** True when the row was written (false when the order id was in the view already). */
  insertOrder(order: Order, createdAt: number, idempotencyKey?: string, placement: Placement = 'placed'): boolean {
    return (
      this.sql(
        `INSERT OR IGNORE INTO orders (order_id, customer_id, username, sauce, cheese, main_topping, extra_toppings,
           created_at, placement, idempotency_key, delivery_note)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        order.orderId,
        order.customerId,
        order.username,
        order.sauce,
        order.cheese,
        order.mainTopping,
        JSON.stringify(order.extraToppings),
        createdAt,
        placement,
        idempotencyKey ?? null,
        order.deliveryNote ?? null,
      ).changes > 0
    );
  }

  /** The order is on the bus: no longer being placed (nor failed, if its publish only seemed to fail). */
  markPlaced(orderId: string): void {
    this.sql("UPDATE orders SET placement = 'placed' WHERE order_id = ? AND placement != 'placed'").run(orderId);
  }

  findByIdempotencyKey(customerId: string, idempotencyKey: string): OrderView | undefined {
    const row = this.sql(`${SELECT_ORDER} WHERE o.customer_id = ? AND o.idempotency_key = ?`).get(
      customerId,
      idempotencyKey,
    ) as OrderRow | undefined;
    return row && toView(row);
  }

  /** Whether one of the customer's orders has this key: an index probe, without reading the order. */
  idempotencyKeyTaken(customerId: string, idempotencyKey: string): boolean {
    return (
      this.sql('SELECT 1 FROM orders WHERE customer_id = ? AND idempotency_key = ?').get(customerId, idempotencyKey) !==
      undefined
    );
  }

  getStatus(orderId: string): OrderStatus | undefined {
    const row = this.sql('SELECT status, event_status, event_timestamp, updated_at FROM status WHERE order_id = ?').get(
      orderId,
    ) as { status: number; event_status: number; event_timestamp: number; updated_at: number } | undefined;
    return (
      row && {
        status: row.status,
        eventStatus: row.event_status,
        eventTimestamp: row.event_timestamp,
        updatedAt: row.updated_at,
      }
    );
  }

  /**
   * Applies a status event by the view's rules to the order's `current` status:
   * the change's number, or undefined when nothing changed.
   */
  applyStatus(
    orderId: string,
    event: IncomingStatus,
    catalog: StatusCatalog,
    now: number,
    current: OrderStatus | undefined = this.getStatus(orderId),
  ): number | undefined {
    const next = applyStatusEvent(current, event, catalog, now);
    if (!next) return undefined;
    const seq = this.nextSeq();
    this.sql(
      `INSERT INTO status (order_id, status, event_status, event_timestamp, updated_at, seq)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, event_status = excluded.event_status,
           event_timestamp = excluded.event_timestamp, updated_at = excluded.updated_at, seq = excluded.seq`,
    ).run(orderId, next.status, next.eventStatus, next.eventTimestamp, next.updatedAt, seq);
    return seq;
  }

  /** Takes the next change number. */
  nextSeq(): number {
    if (this.batchSeq !== undefined) {
      this.batchSeq += 1;
      return this.batchSeq;
    }
    const row = this.sql('UPDATE status_changes SET seq = seq + 1 WHERE id = 1 RETURNING seq').get() as { seq: number };
    return row.seq;
  }
}
