import type { DeliveryRecord } from '../../domain/delivery.js';
import { openDatabase, type SqliteDatabase, statementCache } from './database.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS customers (
  order_id    TEXT PRIMARY KEY,
  state       TEXT NOT NULL CHECK (state IN ('awaiting-pizza', 'pending', 'delivered')),
  customer_id TEXT,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_by_update ON customers (updated_at);
`;

/** The delivery service's memory of orders, on disk so it survives a restart. */
export class DeliveryStore {
  private readonly sql: ReturnType<typeof statementCache>;

  private constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
    this.sql = statementCache(db);
  }

  static open(path: string): DeliveryStore {
    return new DeliveryStore(openDatabase(path));
  }

  get(orderId: string): DeliveryRecord | undefined {
    const row = this.sql('SELECT state, customer_id FROM customers WHERE order_id = ?').get(orderId) as
      | { state: DeliveryRecord['state']; customer_id: string | null }
      | undefined;
    if (!row) return undefined;
    switch (row.state) {
      case 'awaiting-pizza':
        return { state: 'awaiting-pizza', customerId: row.customer_id ?? '' };
      case 'pending':
        return { state: 'pending' };
      case 'delivered':
        return { state: 'delivered', customerId: row.customer_id ?? undefined };
    }
  }

  put(orderId: string, record: DeliveryRecord, now: number): void {
    const customerId = 'customerId' in record ? (record.customerId ?? null) : null;
    this.sql(
      `INSERT INTO customers (order_id, state, customer_id, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (order_id) DO UPDATE SET state = excluded.state,
           customer_id = coalesce(excluded.customer_id, customers.customer_id), updated_at = excluded.updated_at`,
    ).run(orderId, record.state, customerId, now);
  }

  purge(now: number, retentionMs: number): number {
    return this.sql('DELETE FROM customers WHERE updated_at < ?').run(now - retentionMs).changes;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
