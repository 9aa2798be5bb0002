import type { DeliveryRecord } from '../../domain/delivery.js';
import { addMissingColumns } from './database.js';
import { SqliteFile } from './sqlite-file.js';

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
  /** On a file this process has open (see SqliteFiles); `owned` when closing the store closes the file. */
  constructor(
    readonly file: SqliteFile,
    private readonly owned = false,
  ) {
    file.db.exec(SCHEMA);
    // The input partition the order's events arrive on (pizza-ordered and pizza-baked are co-partitioned).
    addMissingColumns(file.db, 'customers', { partition: 'INTEGER' });
  }

  static open(path: string): DeliveryStore {
    return new DeliveryStore(new SqliteFile(path), true);
  }

  get(orderId: string): DeliveryRecord | undefined {
    const row = this.file.sql('SELECT state, customer_id FROM customers WHERE order_id = ?').get(orderId) as
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
    const customerId = 'customerId' in record ? (record.customerId ?? null) : null;
    // Written now, committed with the turn: deliver reads its memory back at once.
    this.file.writeNow(() =>
      this.file
        .sql(
          `INSERT INTO customers (order_id, state, customer_id, updated_at, partition) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (order_id) DO UPDATE SET state = excluded.state,
           customer_id = coalesce(excluded.customer_id, customers.customer_id), updated_at = excluded.updated_at,
           partition = coalesce(excluded.partition, customers.partition)`,
        )
        .run(orderId, record.state, customerId, now, partition ?? null),
    );
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
    this.file.writeNow(() => {
      const drop = this.file.sql('DELETE FROM customers WHERE partition = ? OR partition IS NULL');
      for (const partition of partitions) drop.run(partition);
      for (const [orderId, record] of memory) this.put(orderId, record, now, record.partition);
    });
  }

  purge(now: number, retentionMs: number): number {
    return this.file.sql('DELETE FROM customers WHERE updated_at < ?').run(now - retentionMs).changes;
  }

  /** Closes the file when the store has it to itself; a shared file is closed where it was opened. */
  close(): void {
    if (this.owned) this.file.close();
  }
}
