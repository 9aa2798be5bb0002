import type { Order } from '../../domain/order.js';
import type { StatusCatalog } from '../../domain/statuses.js';
import type { OrderEvent, OrdersStore } from './orders-store.js';

interface Pending {
  event: OrderEvent;
  order: Order | undefined;
  idempotencyKey: string | undefined;
  resolve(changed: boolean): void;
  reject(error: unknown): void;
}

/**
 * Gathers the status events that arrive within one turn of the event loop and
 * writes them in one transaction. A commit costs far more than a row, and the
 * status role applies events from many orders at once.
 */
export class ViewWriter {
  private queue: Pending[] = [];

  constructor(
    private readonly store: OrdersStore,
    private readonly catalog: StatusCatalog,
  ) {}

  /**
   * Resolves once the event is in the view: true when the order's status
   * changed. A `pizza-ordered` event brings its `order`, and the idempotency
   * key from its header when it has one.
   */
  apply(event: OrderEvent, order?: Order, idempotencyKey?: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, order, idempotencyKey, resolve, reject });
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    try {
      const results = this.store.applyEvents(batch, this.catalog);
      batch.forEach((item, index) => item.resolve(results[index] ?? false));
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }
}
