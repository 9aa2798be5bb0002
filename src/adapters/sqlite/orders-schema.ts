import type { Order } from '../../domain/order.js';
import { addMissingColumns, type SqliteDatabase } from './database.js';

/**
 * Where the web app is with an order: `placing` from before `pizza-ordered` is
 * published until it is confirmed, `placed` after, `failed` when the publish
 * failed and the customer was told the order was not placed.
 */
export type Placement = 'placing' | 'placed' | 'failed';

export interface OrderView extends Order {
  createdAt: number;
  /** 0 while the order has no status yet (still being placed). */
  status: number;
  statusUpdatedAt: number;
  placement: Placement;
  idempotencyKey: string | undefined;
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

export interface OrderRow {
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
  delivery_note: string | null;
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
-- The order's timeline: every event the view read, once. applied_seq is the number of the
-- status change the event made (NULL when the view ignored it), so the events in that order
-- are the view's history: readers can check that no order ever moves backward.
CREATE TABLE IF NOT EXISTS order_events (
  topic           TEXT NOT NULL,
  partition       INTEGER NOT NULL,
  offset          TEXT NOT NULL,
  order_id        TEXT NOT NULL,
  status          INTEGER NOT NULL,
  event_timestamp INTEGER NOT NULL,
  received_at     INTEGER NOT NULL,
  applied_seq     INTEGER,
  PRIMARY KEY (topic, partition, offset)
);
CREATE INDEX IF NOT EXISTS order_events_by_order ON order_events (order_id, event_timestamp);
-- Counts that outlive purges: events applied that changed nothing (duplicates, late old events).
CREATE TABLE IF NOT EXISTS view_counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO view_counters (name, value) VALUES ('events_ignored', 0);
`;

/** Columns added since the first version, and their indexes, for files made before them. */
const ADDED_ORDER_COLUMNS = {
  placement: "TEXT NOT NULL DEFAULT 'placed'",
  idempotency_key: 'TEXT',
  // Kept with the order so that an order published again after a crash still carries its note.
  delivery_note: 'TEXT',
};
const ADDED_ORDER_INDEXES = `
CREATE UNIQUE INDEX IF NOT EXISTS orders_by_idempotency_key ON orders (customer_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS orders_not_placed ON orders (placement) WHERE placement != 'placed';
`;

export const SELECT_ORDER = `
  SELECT o.*, s.status AS status, s.updated_at AS status_updated_at
  FROM orders o LEFT JOIN status s ON s.order_id = o.order_id`;

/** Creates the orders tables, or brings a file made by an older version up to date. */
export function migrateOrders(db: SqliteDatabase): void {
  db.exec(SCHEMA);
  addMissingColumns(db, 'orders', ADDED_ORDER_COLUMNS);
  db.exec(ADDED_ORDER_INDEXES);
  addMissingColumns(db, 'order_events', { applied_seq: 'INTEGER' });
  foldStatusHistory(db);
}

/**
 * Files made before the events carried their change number had a second row
 * per change, `status_history`, repeating the event. Its numbers move onto the
 * events they came from, and the table goes. Its rows without an event (the
 * web app's first status, the watchdog's flags) are no event's history: the
 * order and its status row keep what they said.
 */
function foldStatusHistory(db: SqliteDatabase): void {
  db.transaction(() => {
    const present = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'status_history'").get();
    if (!present) return;
    db.exec(`
      CREATE INDEX IF NOT EXISTS status_history_by_source ON status_history (topic, partition, offset);
      UPDATE order_events SET applied_seq = (
        SELECT h.seq FROM status_history h
          WHERE h.topic = order_events.topic AND h.partition = order_events.partition AND h.offset = order_events.offset)
        WHERE applied_seq IS NULL;
      DROP TABLE status_history;`);
  }).immediate();
}

export function toView(row: OrderRow): OrderView {
  return {
    orderId: row.order_id,
    customerId: row.customer_id,
    username: row.username,
    sauce: row.sauce,
    cheese: row.cheese,
    mainTopping: row.main_topping,
    extraToppings: JSON.parse(row.extra_toppings) as string[],
    ...(row.delivery_note === null ? {} : { deliveryNote: row.delivery_note }),
    createdAt: row.created_at,
    status: row.status ?? 0,
    statusUpdatedAt: row.status_updated_at ?? row.created_at,
    placement: row.placement,
    idempotencyKey: row.idempotency_key ?? undefined,
  };
}
