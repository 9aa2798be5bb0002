import type { Order } from '../../domain/order.js';
import type { StatusCatalog } from '../../domain/statuses.js';
import type { PartitionOffset } from '../bus/bus.js';
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
  private positions = new Map<string, PartitionOffset>();
  private scheduled = false;

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
      this.schedule();
    });
  }

  /**
   * Notes how far the view has read a partition (every record before it is
   * applied); saved in the next transaction, so the position never runs ahead
   * of the events. If the process dies first, those events are read again,
   * and applying an event twice changes nothing.
   */
  notePosition(position: PartitionOffset): void {
    this.positions.set(`${position.topic}\u0000${position.partition}`, position);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    const positions = [...this.positions.values()];
    this.queue = [];
    this.positions.clear();
    try {
      const results = this.store.applyEvents(batch, this.catalog, positions);
      batch.forEach((item, index) => {
        const result = results[index] ?? false;
        if (result instanceof Error) item.reject(result);
        else item.resolve(result);
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }
}
