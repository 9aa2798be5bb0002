import type { OrderIdCollisionError } from '../../domain/events.js';
import type { Order } from '../../domain/order.js';
import type { IncomingStatus, OrderStatus } from '../../domain/status-view.js';
import type { StatusCatalog } from '../../domain/statuses.js';
import type { PartitionOffset } from '../bus/bus.js';
import { OrderRows } from './order-rows.js';
import { type AppliedEvent, OrderTimeline } from './order-timeline.js';
import { OrdersMaintenance } from './orders-maintenance.js';
import {
  migrateOrders,
  type OrderEvent,
  type OrderRow,
  type OrderView,
  SELECT_ORDER,
  toView,
} from './orders-schema.js';
import { SqliteFile } from './sqlite-file.js';
import { type ViewEventItem, ViewEvents } from './view-events.js';
import { ViewOffsets } from './view-offsets.js';

export { IDEMPOTENCY_KEY_PATTERN, isIdempotencyKey } from './order-rows.js';
export type { AppliedEvent } from './order-timeline.js';
export type { OrderEvent, OrderView, Placement } from './orders-schema.js';

/**
 * The orders view: what the web app writes when an order is placed, and what
 * the status role keeps current from the events (the query side of CQRS).
 * Placement and the repository are here; the view's event writes, the timeline
 * and change feed, and maintenance are units of their own, reached through it.
 */
export class OrdersStore {
  /** The view's read positions in its input topics, saved in the same transactions as its events. */
  readonly offsets: ViewOffsets;
  readonly timeline: OrderTimeline;
  readonly maintenance: OrdersMaintenance;
  private readonly rows: OrderRows;
  private readonly events: ViewEvents;
  private readonly transactions: ReturnType<OrdersStore['makeTransactions']>;

  /** On a file this process has open (see SqliteFiles); `owned` when closing the store closes the file. */
  constructor(
    readonly file: SqliteFile,
    private readonly owned = false,
  ) {
    migrateOrders(file.db);
    this.rows = new OrderRows(file.sql);
    this.offsets = new ViewOffsets(file.db);
    this.timeline = new OrderTimeline(file.sql);
    this.maintenance = new OrdersMaintenance(file, this.rows);
    this.events = new ViewEvents(file, this.rows, this.offsets);
    this.transactions = this.makeTransactions();
  }

  /** Made once per store: better-sqlite3 builds four wrapper functions for each transaction function it makes. */
  private makeTransactions() {
    const { db } = this.file;
    return {
      place: db.transaction((order: Order, status: IncomingStatus, catalog: StatusCatalog, now: number) => {
        this.rows.insertOrder(order, now);
        this.rows.applyStatus(order.orderId, status, catalog, now);
      }),
      applyStatus: db.transaction((orderId: string, event: IncomingStatus, catalog: StatusCatalog, now: number) =>
        this.rows.applyStatus(orderId, event, catalog, now),
      ),
      beginPlacement: db.transaction(
        (order: Order, idempotencyKey: string, now: number): { order: OrderView; created: boolean } => {
          const existing = this.findByIdempotencyKey(order.customerId, idempotencyKey);
          if (existing) return { order: existing, created: false };
          if (this.rows.insertOrder(order, now, idempotencyKey, 'placing')) {
            // What the row now says, without reading it back.
            const view: OrderView = {
              orderId: order.orderId,
              customerId: order.customerId,
              username: order.username,
              sauce: order.sauce,
              cheese: order.cheese,
              mainTopping: order.mainTopping,
              extraToppings: [...order.extraToppings],
              ...(order.deliveryNote === undefined ? {} : { deliveryNote: order.deliveryNote }),
              createdAt: now,
              status: 0,
              statusUpdatedAt: now,
              placement: 'placing',
              idempotencyKey,
            };
            return { order: view, created: true };
          }
          // The id was in the view already (another host's order under the same id): as the view has it.
          return { order: this.getOrder(order.orderId) as OrderView, created: true };
        },
      ),
      confirmPlacement: db.transaction(
        (orderId: string, status: IncomingStatus, catalog: StatusCatalog, now: number) => {
          this.rows.markPlaced(orderId);
          this.rows.applyStatus(orderId, status, catalog, now);
        },
      ),
    };
  }

  /** A store with a file of its own (tools and tests); the shop opens files once, through SqliteFiles. */
  static open(path: string): OrdersStore {
    return new OrdersStore(new SqliteFile(path), true);
  }

  /**
   * Runs `work`, some of this store's writes, in the transaction that the
   * turn's other writes to the file share; resolves once it has committed.
   */
  shared<T>(work: (store: OrdersStore) => T): Promise<T> {
    return this.file.write(() => work(this));
  }

  /** Stores a new order with its first status, in one transaction. */
  placeOrder(order: Order, status: IncomingStatus, catalog: StatusCatalog, now: number): void {
    this.transactions.place(order, status, catalog, now);
  }

  getOrder(orderId: string): OrderView | undefined {
    const row = this.file.sql(`${SELECT_ORDER} WHERE o.order_id = ?`).get(orderId) as OrderRow | undefined;
    return row && toView(row);
  }

  listOrders(customerId: string, limit = 100): OrderView[] {
    const rows = this.file
      .sql(
        `${SELECT_ORDER} WHERE o.customer_id = ? AND o.placement != 'failed'
           ORDER BY o.created_at DESC, o.rowid DESC LIMIT ?`,
      )
      .all(customerId, limit) as OrderRow[];
    return rows.map(toView);
  }

  getStatus(orderId: string): OrderStatus | undefined {
    return this.rows.getStatus(orderId);
  }

  /** Applies a status event by the view's rules; true when the row changed. */
  applyStatus(orderId: string, event: IncomingStatus, catalog: StatusCatalog, now: number): boolean {
    return this.transactions.applyStatus(orderId, event, catalog, now) !== undefined;
  }

  /** The customer's order made from the form with this idempotency key, in any placement. */
  findByIdempotencyKey(customerId: string, idempotencyKey: string): OrderView | undefined {
    return this.rows.findByIdempotencyKey(customerId, idempotencyKey);
  }

  /**
   * Writes an order as `placing`, before its event is published; or, when the
   * customer already used this key, returns that order instead. One write
   * transaction, so two requests with one key never both insert.
   */
  beginPlacement(order: Order, idempotencyKey: string, now: number): { order: OrderView; created: boolean } {
    return this.transactions.beginPlacement.immediate(order, idempotencyKey, now);
  }

  /** The publish succeeded: the order is placed, with its first status. */
  confirmPlacement(orderId: string, status: IncomingStatus, catalog: StatusCatalog, now: number): void {
    this.transactions.confirmPlacement(orderId, status, catalog, now);
  }

  /** The publish failed and the customer was told so; true when the order was still being placed. */
  failPlacement(orderId: string): boolean {
    return (
      this.file.sql("UPDATE orders SET placement = 'failed' WHERE order_id = ? AND placement = 'placing'").run(orderId)
        .changes > 0
    );
  }

  /** Orders written before their publish and never confirmed: what a crash leaves. */
  ordersBeingPlaced(): OrderView[] {
    const rows = this.file
      .sql(`${SELECT_ORDER} WHERE o.placement = 'placing' ORDER BY o.created_at`)
      .all() as OrderRow[];
    return rows.map(toView);
  }

  /** See ViewEvents: one event in its own transaction; true when the status changed. */
  applyEvent(event: OrderEvent, catalog: StatusCatalog, order?: Order, idempotencyKey?: string): boolean {
    const [result] = this.events.applyEvents([{ event, order, idempotencyKey }], catalog);
    if (result instanceof Error) throw result;
    return result === true;
  }

  /** See ViewEvents: several events and the view's read positions in one transaction. */
  applyEvents(
    items: readonly ViewEventItem[],
    catalog: StatusCatalog,
    positions: readonly PartitionOffset[] = [],
  ): Array<boolean | OrderIdCollisionError> {
    return this.events.applyEvents(items, catalog, positions);
  }

  /** Adds an event to the order's timeline without applying its status. */
  recordEvent(event: OrderEvent): void {
    this.events.recordEvent(event);
  }

  hasEvents(orderId: string): boolean {
    return this.timeline.hasEvents(orderId);
  }

  listEvents(orderId: string): OrderEvent[] {
    return this.timeline.listEvents(orderId);
  }

  /** The events that changed the order's status, in the order they did. */
  appliedEvents(orderId: string): AppliedEvent[] {
    return this.timeline.appliedEvents(orderId);
  }

  /** The number of the order's last status change (0 without a status): for a page to ask what came after. */
  statusSeq(orderId: string): number {
    return this.timeline.statusSeq(orderId);
  }

  duplicatesIgnored(): number {
    return this.timeline.duplicatesIgnored();
  }

  countByStatus(): Array<{ status: number; count: number }> {
    return this.timeline.countByStatus();
  }

  latestStatusSeq(): number {
    return this.timeline.latestStatusSeq();
  }

  statusChangesSince(since: number, limit = 1000): Array<{ orderId: string; status: number; seq: number }> {
    return this.timeline.statusChangesSince(since, limit);
  }

  /** See OrdersMaintenance.markStuck. */
  markStuck(
    catalog: StatusCatalog,
    now: number,
    stuckAfterMs: number,
    unchangedFor: (orderId: string, seq: number) => number,
  ): string[] {
    return this.maintenance.markStuck(catalog, now, stuckAfterMs, unchangedFor);
  }

  purge(now: number, ordersRetentionMs: number, statusRetentionMs: number): number {
    return this.maintenance.purge(now, ordersRetentionMs, statusRetentionMs);
  }

  /** Closes the file when the store has it to itself; a shared file is closed where it was opened. */
  close(): void {
    if (this.owned) this.file.close();
  }
}
