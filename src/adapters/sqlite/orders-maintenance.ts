import { isStuck } from '../../domain/status-view.js';
import type { StatusCatalog } from '../../domain/statuses.js';
import type { OrderRows } from './order-rows.js';
import type { SqliteFile } from './sqlite-file.js';

/** The status role's timed work on the view: the watchdog, and retention. */
export class OrdersMaintenance {
  constructor(
    private readonly file: SqliteFile,
    private readonly rows: OrderRows,
  ) {}

  /**
   * Flags orders whose status has not moved for too long; returns their ids.
   * Only orders the view knows were placed: stage events for an id no
   * `pizza-ordered` ever named have no customer waiting on them.
   */
  markStuck(catalog: StatusCatalog, now: number, stuckAfterMs: number): string[] {
    const { sql } = this.file;
    return this.file.db.transaction(() => {
      const candidates = sql(
        `SELECT order_id, status, event_status, event_timestamp, updated_at FROM status
           WHERE updated_at <= ? AND status != ?
             AND EXISTS (SELECT 1 FROM orders WHERE orders.order_id = status.order_id)`,
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
      const update = sql('UPDATE status SET status = ?, updated_at = ?, seq = ? WHERE order_id = ?');
      for (const row of stuck) update.run(catalog.ids.stuck, now, this.rows.nextSeq(), row.order_id);
      return stuck.map((row) => row.order_id);
    })();
  }

  /** Deletes orders and statuses older than their retention; returns how many rows went. */
  purge(now: number, ordersRetentionMs: number, statusRetentionMs: number): number {
    const { sql } = this.file;
    return this.file.db.transaction(() => {
      const orders = sql('DELETE FROM orders WHERE created_at < ?').run(now - ordersRetentionMs).changes;
      const statuses = sql('DELETE FROM status WHERE updated_at < ?').run(now - statusRetentionMs).changes;
      sql('DELETE FROM order_events WHERE received_at < ?').run(now - statusRetentionMs);
      return orders + statuses;
    })();
  }
}
