import { OrderIdCollisionError } from '../../domain/events.js';
import type { Order } from '../../domain/order.js';
import { applyStatusEvent, type IncomingStatus, isStuck, type OrderStatus } from '../../domain/status-view.js';
import type { StatusCatalog } from '../../domain/statuses.js';
import type { PartitionOffset } from '../bus/bus.js';
import { addMissingColumns, openDatabase, type SqliteDatabase, statementCache } from './database.js';
import { TurnTransaction } from './turn-transaction.js';
import { ViewOffsets } from './view-offsets.js';

/**
 * Where the web app is with an order: `placing` from before `pizza-ordered` is
 * published until it is confirmed, `placed` after, `failed` when the publish
 * failed and the customer was told the order was not placed.
 */
export type Placement = 'placing' | 'placed' | 'failed';

/** The web form's idempotency key: a random UUID, lower-case. */
export const IDEMPOTENCY_KEY_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isIdempotencyKey(value: unknown): value is string {
  return typeof value === 'string' && IDEMPOTENCY_KEY_PATTERN.test(value);
}

export interface OrderView extends Order {
  createdAt: number;
  /** 0 while the order has no status yet (still being placed). */
  status: number;
  statusUpdatedAt: number;
  placement: Placement;
  idempotencyKey: string | undefined;
}

/** Where a status change came from, when it came from an event on the bus. */
export interface ChangeSource {
  topic: string;
  partition: number;
  offset: string;
}

/** One change applied to an order's status, the watchdog's `stuck` included. */
export interface StatusHistoryEntry {
  seq: number;
  status: number;
  eventStatus: number;
  eventTimestamp: number;
  changedAt: number;
  topic?: string;
  partition?: number;
  offset?: string;
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
  placement: Placement;
  idempotency_key: string | null;
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
  created_at     INTEGER NOT NULL,
  placement       TEXT NOT NULL DEFAULT 'placed',
  idempotency_key TEXT
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
-- Every change applied to a status, in order: readers can check that no order ever moves backward.
CREATE TABLE IF NOT EXISTS status_history (
  seq             INTEGER PRIMARY KEY,
  order_id        TEXT NOT NULL,
  status          INTEGER NOT NULL,
  event_status    INTEGER NOT NULL,
  event_timestamp INTEGER NOT NULL,
  changed_at      INTEGER NOT NULL,
  topic           TEXT,
  partition       INTEGER,
  offset          TEXT
);
CREATE INDEX IF NOT EXISTS status_history_by_order ON status_history (order_id, seq);
CREATE INDEX IF NOT EXISTS status_history_by_change ON status_history (changed_at);
-- Counts that outlive purges: events applied that changed nothing (duplicates, late old events).
CREATE TABLE IF NOT EXISTS view_counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO view_counters (name, value) VALUES ('events_ignored', 0);
`;

/** Columns added since the first version, and their indexes, for files made before them. */
const ADDED_ORDER_COLUMNS = { placement: "TEXT NOT NULL DEFAULT 'placed'", idempotency_key: 'TEXT' };
const ADDED_ORDER_INDEXES = `
CREATE UNIQUE INDEX IF NOT EXISTS orders_by_idempotency_key ON orders (customer_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS orders_not_placed ON orders (placement) WHERE placement != 'placed';
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

  /** The view's read positions in its input topics, saved in the same transactions as its events. */
  readonly offsets: ViewOffsets;

  /** The web app's writes of one turn, in one transaction (see `shared`). */
  private readonly turn: TurnTransaction;

  private constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
    addMissingColumns(db, 'orders', ADDED_ORDER_COLUMNS);
    db.exec(ADDED_ORDER_INDEXES);
    this.sql = statementCache(db);
    this.offsets = new ViewOffsets(db);
    this.turn = new TurnTransaction(db);
  }

  /**
   * Runs `work`, some of this store's writes, in the transaction that the
   * turn's other writes share; resolves once it has committed.
   */
  shared<T>(work: (store: OrdersStore) => T): Promise<T> {
    return this.turn.run(() => work(this));
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
      `${SELECT_ORDER} WHERE o.customer_id = ? AND o.placement != 'failed'
         ORDER BY o.created_at DESC, o.rowid DESC LIMIT ?`,
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

  /**
   * Applies a status event by the view's rules; true when the row changed.
   * `source` is the record the event came in, kept in the status history.
   */
  applyStatus(
    orderId: string,
    event: IncomingStatus,
    catalog: StatusCatalog,
    now: number,
    source?: ChangeSource,
  ): boolean {
    return this.db.transaction(() => {
      const current = this.getStatus(orderId);
      const next = applyStatusEvent(current, event, catalog, now);
      if (!next) return false;
      const seq = this.nextSeq();
      this.sql(
        `INSERT INTO status (order_id, status, event_status, event_timestamp, updated_at, seq)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, event_status = excluded.event_status,
             event_timestamp = excluded.event_timestamp, updated_at = excluded.updated_at, seq = excluded.seq`,
      ).run(orderId, next.status, next.eventStatus, next.eventTimestamp, next.updatedAt, seq);
      this.recordChange(orderId, seq, next, source);
      return true;
    })();
  }

  /** The changes applied to an order's status, oldest first (as far back as retention keeps them). */
  statusHistory(orderId: string): StatusHistoryEntry[] {
    const rows = this.sql(
      `SELECT seq, status, event_status, event_timestamp, changed_at, topic, partition, offset
         FROM status_history WHERE order_id = ? ORDER BY seq`,
    ).all(orderId) as Array<{
      seq: number;
      status: number;
      event_status: number;
      event_timestamp: number;
      changed_at: number;
      topic: string | null;
      partition: number | null;
      offset: string | null;
    }>;
    return rows.map((row) => ({
      seq: row.seq,
      status: row.status,
      eventStatus: row.event_status,
      eventTimestamp: row.event_timestamp,
      changedAt: row.changed_at,
      ...(row.topic === null ? {} : { topic: row.topic }),
      ...(row.partition === null ? {} : { partition: row.partition }),
      ...(row.offset === null ? {} : { offset: row.offset }),
    }));
  }

  /**
   * Events applied that did not change a status: duplicates, redeliveries and
   * late old events, which the view ignores. Counted over the file's lifetime.
   */
  duplicatesIgnored(): number {
    const row = this.sql("SELECT value FROM view_counters WHERE name = 'events_ignored'").get() as
      | { value: number }
      | undefined;
    return row?.value ?? 0;
  }

  /**
   * Records an event in the order's timeline and applies its status, in one
   * transaction (one write to the WAL per event). `order` comes with a
   * `pizza-ordered` event, for orders placed elsewhere, and `idempotencyKey`
   * with its header, so a view rebuilt from the topic still knows the key.
   * Any event of an order proves it is on the bus: an order still being
   * placed (or whose publish seemed to fail) is confirmed. True when the status changed.
   */
  applyEvent(event: OrderEvent, catalog: StatusCatalog, order?: Order, idempotencyKey?: string): boolean {
    return this.db.transaction(() => {
      if (order) this.refuseCollision(order);
      if (order) this.insertOrder(order, event.eventTimestamp, this.freeKey(order.customerId, idempotencyKey));
      this.sql("UPDATE orders SET placement = 'placed' WHERE order_id = ? AND placement != 'placed'").run(
        event.orderId,
      );
      this.recordEvent(event);
      const changed = this.applyStatus(
        event.orderId,
        { status: event.status, timestamp: event.eventTimestamp },
        catalog,
        event.receivedAt,
        { topic: event.topic, partition: event.partition, offset: event.offset },
      );
      if (!changed) this.sql("UPDATE view_counters SET value = value + 1 WHERE name = 'events_ignored'").run();
      return changed;
    })();
  }

  /**
   * Applies several events in one transaction (one WAL commit), and saves the
   * view's read positions with them: a result per event, or the collision
   * that kept it out.
   */
  applyEvents(
    items: ReadonlyArray<{ event: OrderEvent; order?: Order | undefined; idempotencyKey?: string | undefined }>,
    catalog: StatusCatalog,
    positions: readonly PartitionOffset[] = [],
  ): Array<boolean | OrderIdCollisionError> {
    return this.db.transaction(() => {
      const results = items.map(({ event, order, idempotencyKey }) => {
        try {
          return this.applyEvent(event, catalog, order, idempotencyKey);
        } catch (error) {
          // Its own savepoint is rolled back; the rest of the batch goes on.
          if (error instanceof OrderIdCollisionError) return error;
          throw error;
        }
      });
      for (const position of positions) this.offsets.save(position);
      return results;
    })();
  }

  /** Two customers' orders under one id must never merge: the second is refused. */
  private refuseCollision(order: Order): void {
    const row = this.sql('SELECT customer_id FROM orders WHERE order_id = ?').get(order.orderId) as
      | { customer_id: string }
      | undefined;
    if (row && row.customer_id !== order.customerId) {
      throw new OrderIdCollisionError(
        `order id ${order.orderId} is already another customer's order: two web hosts issued the same id (set [pizza-shop] order_id_length higher)`,
      );
    }
  }

  /** The customer's order made from the form with this idempotency key, in any placement. */
  findByIdempotencyKey(customerId: string, idempotencyKey: string): OrderView | undefined {
    const row = this.sql(`${SELECT_ORDER} WHERE o.customer_id = ? AND o.idempotency_key = ?`).get(
      customerId,
      idempotencyKey,
    ) as OrderRow | undefined;
    return row && toView(row);
  }

  /**
   * Writes an order as `placing`, before its event is published; or, when the
   * customer already used this key, returns that order instead. One write
   * transaction, so two requests with one key never both insert.
   */
  beginPlacement(order: Order, idempotencyKey: string, now: number): { order: OrderView; created: boolean } {
    return this.db
      .transaction(() => {
        const existing = this.findByIdempotencyKey(order.customerId, idempotencyKey);
        if (existing) return { order: existing, created: false };
        this.insertOrder(order, now, idempotencyKey, 'placing');
        return { order: this.getOrder(order.orderId) as OrderView, created: true };
      })
      .immediate();
  }

  /** The publish succeeded: the order is placed, with its first status. */
  confirmPlacement(orderId: string, status: IncomingStatus, catalog: StatusCatalog, now: number): void {
    this.db.transaction(() => {
      this.sql("UPDATE orders SET placement = 'placed' WHERE order_id = ? AND placement != 'placed'").run(orderId);
      this.applyStatus(orderId, status, catalog, now);
    })();
  }

  /** The publish failed and the customer was told so; true when the order was still being placed. */
  failPlacement(orderId: string): boolean {
    return (
      this.sql("UPDATE orders SET placement = 'failed' WHERE order_id = ? AND placement = 'placing'").run(orderId)
        .changes > 0
    );
  }

  /** Orders written before their publish and never confirmed: what a crash leaves. */
  ordersBeingPlaced(): OrderView[] {
    const rows = this.sql(`${SELECT_ORDER} WHERE o.placement = 'placing' ORDER BY o.created_at`).all() as OrderRow[];
    return rows.map(toView);
  }

  /** True when the status role has seen any event of this order: proof that it is on the bus. */
  hasEvents(orderId: string): boolean {
    return this.sql('SELECT 1 FROM order_events WHERE order_id = ? LIMIT 1').get(orderId) !== undefined;
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
      for (const row of stuck) {
        const seq = this.nextSeq();
        update.run(catalog.ids.stuck, now, seq, row.order_id);
        this.recordChange(row.order_id, seq, {
          status: catalog.ids.stuck,
          eventStatus: row.event_status,
          eventTimestamp: row.event_timestamp,
          updatedAt: now,
        });
      }
      return stuck.map((row) => row.order_id);
    })();
  }

  /** Deletes orders and statuses older than their retention; returns how many rows went. */
  purge(now: number, ordersRetentionMs: number, statusRetentionMs: number): number {
    return this.db.transaction(() => {
      const orders = this.sql('DELETE FROM orders WHERE created_at < ?').run(now - ordersRetentionMs).changes;
      const statuses = this.sql('DELETE FROM status WHERE updated_at < ?').run(now - statusRetentionMs).changes;
      this.sql('DELETE FROM order_events WHERE received_at < ?').run(now - statusRetentionMs);
      this.sql('DELETE FROM status_history WHERE changed_at < ?').run(now - statusRetentionMs);
      return orders + statuses;
    })();
  }

  /** How many orders the view holds at each status a customer sees. */
  countByStatus(): Array<{ status: number; count: number }> {
    return this.sql('SELECT status, count(*) AS count FROM status GROUP BY status').all() as Array<{
      status: number;
      count: number;
    }>;
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

  private recordChange(orderId: string, seq: number, next: OrderStatus, source?: ChangeSource): void {
    this.sql(
      `INSERT INTO status_history (seq, order_id, status, event_status, event_timestamp, changed_at, topic, partition, offset)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      seq,
      orderId,
      next.status,
      next.eventStatus,
      next.eventTimestamp,
      next.updatedAt,
      source?.topic ?? null,
      source?.partition ?? null,
      source?.offset ?? null,
    );
  }

  /**
   * A key from a record header, if it is well formed and not taken by another
   * order of the same customer (which only a foreign producer could do): the
   * order then joins the view without it rather than not at all.
   */
  private freeKey(customerId: string, idempotencyKey: string | undefined): string | undefined {
    if (!isIdempotencyKey(idempotencyKey)) return undefined;
    return this.findByIdempotencyKey(customerId, idempotencyKey) ? undefined : idempotencyKey;
  }

  private insertOrder(order: Order, createdAt: number, idempotencyKey?: string, placement: Placement = 'placed'): void {
    this.sql(
      `INSERT OR IGNORE INTO orders (order_id, customer_id, username, sauce, cheese, main_topping, extra_toppings,
           created_at, placement, idempotency_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    placement: row.placement,
    idempotencyKey: row.idempotency_key ?? undefined,
  };
}
