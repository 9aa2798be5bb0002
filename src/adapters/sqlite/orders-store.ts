import type { Order } from '../../domain/order.js';
import { applyStatusEvent, type IncomingStatus, isStuck, type OrderStatus } from '../../domain/status-view.js';
import type { StatusCatalog } from '../../domain/statuses.js';
import { openDatabase, type SqliteDatabase, statementCache } from './database.js';

export interface OrderView extends Order {
  createdAt: number;
  status: number;
  statusUpdatedAt: number;
}

/** One event of an order's history, as the status role saw it on the bus. */
export interface OrderEvent {
  orderId: string;
  topic: string;
  partition: number;
  offset: string;
  status: number;
  eventTimestamp: number;
  receivedAt: number;
}

interface OrderRow {
  order_id: string;
  customer_id: string;
  username: string;
  sauce: string;
  cheese: string;
  main_topping: string;
  extra_toppings: string;
  created_at: number;
  status: number | null;
  status_updated_at: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  order_id       TEXT PRIMARY KEY,
  customer_id    TEXT NOT NULL,
  username       TEXT NOT NULL,
  sauce          TEXT NOT NULL,
  cheese         TEXT NOT NULL,
  main_topping   TEXT NOT NULL,
  extra_toppings TEXT NOT NULL,
  created_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, created_at DESC);
CREATE TABLE IF NOT EXISTS status (
  order_id        TEXT PRIMARY KEY,
  status          INTEGER NOT NULL,
  event_status    INTEGER NOT NULL,
  event_timestamp INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  -- Grows with every change, so a reader can ask for what changed since it last looked.
  seq             INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS status_by_update ON status (updated_at);
CREATE INDEX IF NOT EXISTS status_by_seq ON status (seq);
-- The last change's number, kept apart from the rows so that purging them never resets it.
CREATE TABLE IF NOT EXISTS status_changes (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
);
INSERT OR IGNORE INTO status_changes (id, seq) VALUES (1, (SELECT coalesce(max(seq), 0) FROM status));
CREATE TABLE IF NOT EXISTS order_events (
  topic           TEXT NOT NULL,
  partition       INTEGER NOT NULL,
  offset          TEXT NOT NULL,
  order_id        TEXT NOT NULL,
  status          INTEGER NOT NULL,
  event_timestamp INTEGER NOT NULL,
  received_at     INTEGER NOT NULL,
  PRIMARY KEY (topic, partition, offset)
);
CREATE INDEX IF NOT EXISTS order_events_by_order ON order_events (order_id, event_timestamp);
`;

const SELECT_ORDER = `
  SELECT o.*, s.status AS status, s.updated_at AS status_updated_at
  FROM orders o LEFT JOIN status s ON s.order_id = o.order_id`;

/**
 * The orders view: what the web app writes when an order is placed, and what
 * the status role keeps current from the events (the query side of CQRS).
 */
export class OrdersStore {
  private readonly sql: ReturnType<typeof statementCache>;

  private constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
    this.sql = statementCache(db);
  }

  static open(path: string): OrdersStore {
    return new OrdersStore(openDatabase(path));
  }

  /** Stores a new order with its first status, in one transaction. */
  placeOrder(order: Order, status: IncomingStatus, catalog: StatusCatalog, now: number): void {
    this.db.transaction(() => {
      this.insertOrder(order, now);
      this.applyStatus(order.orderId, status, catalog, now);
    })();
  }

  getOrder(orderId: string): OrderView | undefined {
    const row = this.sql(`${SELECT_ORDER} WHERE o.order_id = ?`).get(orderId) as OrderRow | undefined;
    return row && toView(row);
  }

  listOrders(customerId: string, limit = 100): OrderView[] {
    const rows = this.sql(
      `${SELECT_ORDER} WHERE o.customer_id = ? ORDER BY o.created_at DESC, o.rowid DESC LIMIT ?`,
    ).all(customerId, limit) as OrderRow[];
    return rows.map(toView);
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

  /** Applies a status event by the view's rules; true when the row changed. */
  applyStatus(orderId: string, event: IncomingStatus, catalog: StatusCatalog, now: number): boolean {
    return this.db.transaction(() => {
      const current = this.getStatus(orderId);
      const next = applyStatusEvent(current, event, catalog, now);
      if (!next) return false;
      this.sql(
        `INSERT INTO status (order_id, status, event_status, event_timestamp, updated_at, seq)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, event_status = excluded.event_status,
             event_timestamp = excluded.event_timestamp, updated_at = excluded.updated_at, seq = excluded.seq`,
      ).run(orderId, next.status, next.eventStatus, next.eventTimestamp, next.updatedAt, this.nextSeq());
      return true;
    })();
  }

  /**
   * Records an event in the order's timeline and applies its status, in one
   * transaction (one write to the WAL per event). `order` comes with a
   * `pizza-ordered` event, for orders placed elsewhere. True when the status changed.
   */
  applyEvent(event: OrderEvent, catalog: StatusCatalog, order?: Order): boolean {
    return this.db.transaction(() => {
      if (order) this.insertOrder(order, event.eventTimestamp);
      this.recordEvent(event);
      return this.applyStatus(
        event.orderId,
        { status: event.status, timestamp: event.eventTimestamp },
        catalog,
        event.receivedAt,
      );
    })();
  }

  /** Applies several events in one transaction (one WAL commit); a result per event. */
  applyEvents(
    items: ReadonlyArray<{ event: OrderEvent; order?: Order | undefined }>,
    catalog: StatusCatalog,
  ): boolean[] {
    return this.db.transaction(() => items.map(({ event, order }) => this.applyEvent(event, catalog, order)))();
  }

  recordEvent(event: OrderEvent): void {
    this.sql(
      `INSERT OR IGNORE INTO order_events (topic, partition, offset, order_id, status, event_timestamp, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      event.topic,
      event.partition,
      event.offset,
      event.orderId,
      event.status,
      event.eventTimestamp,
      event.receivedAt,
    );
  }

  listEvents(orderId: string): OrderEvent[] {
    const rows = this.sql(
      `SELECT order_id, topic, partition, offset, status, event_timestamp, received_at FROM order_events
         WHERE order_id = ? ORDER BY event_timestamp, received_at`,
    ).all(orderId) as Array<{
      order_id: string;
      topic: string;
      partition: number;
      offset: string;
      status: number;
      event_timestamp: number;
      received_at: number;
    }>;
    return rows.map((row) => ({
      orderId: row.order_id,
      topic: row.topic,
      partition: row.partition,
      offset: row.offset,
      status: row.status,
      eventTimestamp: row.event_timestamp,
      receivedAt: row.received_at,
    }));
  }

  /** Flags orders whose status has not moved for too long; returns their ids. */
  markStuck(catalog: StatusCatalog, now: number, stuckAfterMs: number): string[] {
    return this.db.transaction(() => {
      const candidates = this.sql(
        `SELECT order_id, status, event_status, event_timestamp, updated_at FROM status
           WHERE updated_at <= ? AND status != ?`,
      ).all(now - stuckAfterMs, catalog.ids.stuck) as Array<{
        order_id: string;
        status: number;
        event_status: number;
        event_timestamp: number;
        updated_at: number;
      }>;
      const stuck = candidates.filter((row) =>
        isStuck(
          {
            status: row.status,
            eventStatus: row.event_status,
            eventTimestamp: row.event_timestamp,
            updatedAt: row.updated_at,
          },
          catalog,
          now,
          stuckAfterMs,
        ),
      );
      const update = this.sql('UPDATE status SET status = ?, updated_at = ?, seq = ? WHERE order_id = ?');
      for (const row of stuck) update.run(catalog.ids.stuck, now, this.nextSeq(), row.order_id);
      return stuck.map((row) => row.order_id);
    })();
  }

  /** Deletes orders and statuses older than their retention; returns how many rows went. */
  purge(now: number, ordersRetentionMs: number, statusRetentionMs: number): number {
    return this.db.transaction(() => {
      const orders = this.sql('DELETE FROM orders WHERE created_at < ?').run(now - ordersRetentionMs).changes;
      const statuses = this.sql('DELETE FROM status WHERE updated_at < ?').run(now - statusRetentionMs).changes;
      this.sql('DELETE FROM order_events WHERE received_at < ?').run(now - statusRetentionMs);
      return orders + statuses;
    })();
  }

  /** The newest change's sequence number; start `statusChangesSince` from it. */
  latestStatusSeq(): number {
    const row = this.sql('SELECT seq FROM status_changes WHERE id = 1').get() as { seq: number };
    return row.seq;
  }

  /** Takes the next change number; call inside the transaction that makes the change. */
  private nextSeq(): number {
    const row = this.sql('UPDATE status_changes SET seq = seq + 1 WHERE id = 1 RETURNING seq').get() as { seq: number };
    return row.seq;
  }

  /** Statuses changed after sequence number `since`, oldest first, for pushing updates to browsers. */
  statusChangesSince(since: number, limit = 1000): Array<{ orderId: string; status: number; seq: number }> {
    const rows = this.sql('SELECT order_id, status, seq FROM status WHERE seq > ? ORDER BY seq LIMIT ?').all(
      since,
      limit,
    ) as Array<{ order_id: string; status: number; seq: number }>;
    return rows.map((row) => ({ orderId: row.order_id, status: row.status, seq: row.seq }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private insertOrder(order: Order, createdAt: number): void {
    this.sql(
      `INSERT OR IGNORE INTO orders (order_id, customer_id, username, sauce, cheese, main_topping, extra_toppings, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      order.orderId,
      order.customerId,
      order.username,
      order.sauce,
      order.cheese,
      order.mainTopping,
      JSON.stringify(order.extraToppings),
      createdAt,
    );
  }
}

function toView(row: OrderRow): OrderView {
  return {
    orderId: row.order_id,
    customerId: row.customer_id,
    username: row.username,
    sauce: row.sauce,
    cheese: row.cheese,
    mainTopping: row.main_topping,
    extraToppings: JSON.parse(row.extra_toppings) as string[],
    createdAt: row.created_at,
    status: row.status ?? 0,
    statusUpdatedAt: row.status_updated_at ?? row.created_at,
  };
}
