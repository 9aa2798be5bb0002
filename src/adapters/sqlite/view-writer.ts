import type { Order } from '../../domain/order.js';
import type { StatusCatalog } from '../../domain/statuses.js';
import type { PartitionOffset } from '../bus/bus.js';
import type { OrderEvent, OrdersStore } from './orders-store.js';
import { TurnBatch } from './turn-batch.js';

interface ViewItem {
  event: OrderEvent;
  order: Order | undefined;
  idempotencyKey: string | undefined;
}

/** The orders view's writes, one transaction per turn of the event loop (see TurnBatch). */
export class ViewWriter {
  private readonly batch: TurnBatch<ViewItem, boolean>;

  constructor(store: OrdersStore, catalog: StatusCatalog) {
    this.batch = new TurnBatch<ViewItem, boolean>((items, positions) => store.applyEvents(items, catalog, positions));
  }

  /**
   * Resolves once the event is in the view: true when the order's status
   * changed. A `pizza-ordered` event brings its `order`, and the idempotency
   * key from its header when it has one.
   */
  apply(event: OrderEvent, order?: Order, idempotencyKey?: string): Promise<boolean> {
    return this.batch.submit({ event, order, idempotencyKey });
  }

  /** Saved with the next events: the view's read position never runs ahead of them. */
  notePosition(position: PartitionOffset): void {
    this.batch.notePosition(position);
  }
}
