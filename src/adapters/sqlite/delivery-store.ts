import type { DeliveryRecord } from '../../domain/delivery.js';
import { addMissingColumns, openDatabase, type SqliteDatabase, statementCache } from './database.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS customers (
  order_id    TEXT PRIMARY KEY,
  state       TEXT NOT NULL CHECK (state IN ('awaiting-pizza', 'pending', 'delivered')),
  customer_id TEXT,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_by_update ON customers (updated_at);
`;

/**
 * The delivery service's memory of orders: a cache on this host's disk. The
 * truth is in the input topics; a partition assigned here is rebuilt from them
 * (see `replacePartitions`), so any host can take over any partition.
 *
 * Because it is a cache, its writes are committed once per turn of the event
 * loop, not one by one: reads on this connection see them at once, and a
 * crash before the commit loses only what the rebuild gives back.
 */
export class DeliveryStore {
  private readonly sql: ReturnType<typeof statementCache>;
  private commitScheduled = false;

  private constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
    // The input partition the order's events arrive on (pizza-ordered and pizza-baked are co-partitioned).
    addMissingColumns(db, 'customers', { partition: 'INTEGER' });
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

  put(orderId: string, record: DeliveryRecord, now: number, partition?: number): void {
    this.inTurn();
    const customerId = 'customerId' in record ? (record.customerId ?? null) : null;
    this.sql(
      `INSERT INTO customers (order_id, state, customer_id, updated_at, partition) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (order_id) DO UPDATE SET state = excluded.state,
           customer_id = coalesce(excluded.customer_id, customers.customer_id), updated_at = excluded.updated_at,
           partition = coalesce(excluded.partition, customers.partition)`,
    ).run(orderId, record.state, customerId, now, partition ?? null);
  }

  /**
   * Replaces what this host remembers of some partitions with memory rebuilt
   * from the topics, in one transaction. Rows of no known partition (from an
   * older version) go too: the rebuild has them.
   */
  replacePartitions(
    partitions: readonly number[],
    memory: ReadonlyMap<string, DeliveryRecord & { partition: number }>,
    now: number,
  ): void {
    this.db.transaction(() => {
      const drop = this.sql('DELETE FROM customers WHERE partition = ? OR partition IS NULL');
      for (const partition of partitions) drop.run(partition);
      for (const [orderId, record] of memory) this.put(orderId, record, now, record.partition);
    })();
  }

  purge(now: number, retentionMs: number): number {
    return this.sql('DELETE FROM customers WHERE updated_at < ?').run(now - retentionMs).changes;
  }

  /** Opens the turn's transaction when none is open, and commits it once the turn is over. */
  private inTurn(): void {
    if (this.db.inTransaction) return;
    this.db.exec('BEGIN');
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(() => this.commitTurn());
  }

  private commitTurn(): void {
    this.commitScheduled = false;
    // A failed commit (a full or failing disk) must not pass unseen: deliver would act on
    // memory it no longer has. It ends the process; a restart rebuilds the memory from Kafka.
    if (this.db.open && this.db.inTransaction) this.db.exec('COMMIT');
  }

  close(): void {
    this.commitTurn();
    if (this.db.open) this.db.close();
  }
}
