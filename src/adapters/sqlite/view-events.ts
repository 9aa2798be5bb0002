import type { Transaction } from 'better-sqlite3';
import { OrderIdCollisionError } from '../../domain/events.js';
import type { Order } from '../../domain/order.js';
import type { StatusCatalog } from '../../domain/statuses.js';
import type { PartitionOffset } from '../bus/bus.js';
import { isIdempotencyKey, type OrderRows } from './order-rows.js';
import type { OrderEvent } from './orders-schema.js';
import type { SqliteFile } from './sqlite-file.js';
import type { ViewOffsets } from './view-offsets.js';

/** An event for the view, with the order a `pizza-ordered` event brings and its idempotency key. */
export interface ViewEventItem {
  event: OrderEvent;
  order?: Order | undefined;
  idempotencyKey?: string | undefined;
}

/**
 * The view's writes of the events it reads: each event joins its order's
 * timeline (once, however often it is read) and moves the order's status by
 * the view's rules.
 */
export class ViewEvents {
  /** Made once: better-sqlite3 builds four wrapper functions for each transaction function it makes. */
  private readonly applyInTransaction: Transaction<
    (
      items: readonly ViewEventItem[],
      catalog: StatusCatalog,
      positions: readonly PartitionOffset[],
    ) => Array<boolean | OrderIdCollisionError>
  >;

  constructor(
    private readonly file: SqliteFile,
    private readonly rows: OrderRows,
    private readonly offsets: ViewOffsets,
  ) {
    this.applyInTransaction = file.db.transaction((items, catalog, positions) =>
      this.rows.numberingOnce(() => {
        let ignored = 0;
        const results = items.map((item) => {
          try {
            const changed = this.applyOne(item, catalog);
            if (!changed) ignored += 1;
            return changed;
          } catch (error) {
            // Refused before it wrote anything; the rest of the batch goes on.
            if (error instanceof OrderIdCollisionError) return error;
            throw error;
          }
        });
        if (ignored > 0) {
          this.file.sql("UPDATE view_counters SET value = value + ? WHERE name = 'events_ignored'").run(ignored);
        }
        for (const position of positions) this.offsets.save(position);
        return results;
      }),
    );
  }

  /**
   * Applies several events in one transaction (the caller's, when one is
   * open), and saves the view's read positions with them: a result per event
   * (true when the status changed), or the collision that kept it out.
   */
  applyEvents(
    items: readonly ViewEventItem[],
    catalog: StatusCatalog,
    positions: readonly PartitionOffset[] = [],
  ): Array<boolean | OrderIdCollisionError> {
    // Immediate when on its own: it reads the change number it then writes, which another
    // process's commit in between would make stale. In the turn's transaction it nests.
    return this.applyInTransaction.immediate(items, catalog, positions);
  }

  /**
   * Records an event in the order's timeline and applies its status. `order`
   * comes with a `pizza-ordered` event, for orders placed elsewhere, and
   * `idempotencyKey` with its header, so a view rebuilt from the topic still
   * knows the key. Any event of an order proves it is on the bus: an order
   * still being placed (or whose publish seemed to fail) is confirmed.
   */
  private applyOne({ event, order, idempotencyKey }: ViewEventItem, catalog: StatusCatalog): boolean {
    // Checked before anything is written, so a refused event leaves no trace. An order already in
    // the view (placed by this host's web app) keeps its row: nothing more to look up or write.
    if (order && !this.orderKnown(order)) {
      this.rows.insertOrder(order, event.eventTimestamp, this.freeKey(order.customerId, idempotencyKey));
    }
    const current = this.rows.getStatus(event.orderId);
    // An order with a status was placed already (placing and failed orders have none): one write saved.
    if (!current) this.rows.markPlaced(event.orderId);
    const seq = this.rows.applyStatus(
      event.orderId,
      { status: event.status, timestamp: event.eventTimestamp },
      catalog,
      event.receivedAt,
      current,
    );
    this.recordEvent(event, seq);
    return seq !== undefined;
  }

  /** Adds an event to its order's timeline, once; `appliedSeq` is the status change it made, if any. */
  recordEvent(event: OrderEvent, appliedSeq?: number): void {
    this.file
      .sql(
        `INSERT OR IGNORE INTO order_events
           (topic, partition, offset, order_id, status, event_timestamp, received_at, applied_seq)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        event.topic,
        event.partition,
        event.offset,
        event.orderId,
        event.status,
        event.eventTimestamp,
        event.receivedAt,
        appliedSeq ?? null,
      );
  }

  /**
   * True when the view has the order already. Two customers' orders under one
   * id must never merge: the second is refused.
   */
  private orderKnown(order: Order): boolean {
    const row = this.file.sql('SELECT customer_id FROM orders WHERE order_id = ?').get(order.orderId) as
      | { customer_id: string }
      | undefined;
    if (row && row.customer_id !== order.customerId) {
      throw new OrderIdCollisionError(
        `order id ${order.orderId} is already another customer's order: two web hosts issued the same id (set [pizza-shop] order_id_length higher)`,
      );
    }
    return row !== undefined;
  }

  /**
   * A key from a record header, if it is well formed and not taken by another
   * order of the same customer (which only a foreign producer could do): the
   * order then joins the view without it rather than not at all.
   */
  private freeKey(customerId: string, idempotencyKey: string | undefined): string | undefined {
    if (!isIdempotencyKey(idempotencyKey)) return undefined;
    return this.rows.idempotencyKeyTaken(customerId, idempotencyKey) ? undefined : idempotencyKey;
  }
}
