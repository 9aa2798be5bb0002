import type { Order } from '../../domain/order.js';
import { type StatusCatalog, statusLabel } from '../../domain/statuses.js';
import type { PartitionOffset } from '../bus/bus.js';
import type { OrderLogStore } from './order-log-store.js';
import type { OrderEvent } from './orders-schema.js';
import type { OrdersStore } from './orders-store.js';
import { isSqliteFull } from './store-full.js';
import { TurnBatch } from './turn-batch.js';

interface ViewItem {
  event: OrderEvent;
  order: Order | undefined;
  idempotencyKey: string | undefined;
}

/**
 * The orders view's writes: the events of one turn of the event loop as one
 * batch, in the file's transaction of that turn (see TurnBatch). With `lines`, each status change also becomes the status
 * service's line on the order page, in this host's copy of the log lines:
 * `status: <the status's words>`, known by the event's topic, partition and
 * offset, so applying the event again writes it once.
 */
export class ViewWriter {
  private readonly batch: TurnBatch<ViewItem, boolean>;

  constructor(store: OrdersStore, catalog: StatusCatalog, lines?: OrderLogStore) {
    this.batch = new TurnBatch<ViewItem, boolean>((items, positions) => {
      const results = store.applyEvents(items, catalog, positions);
      const changed = items.filter((_, index) => results[index] === true);
      if (lines && changed.length > 0) {
        try {
          lines.appendMany(changed.map(({ event }) => statusLine(event, catalog)));
        } catch (error) {
          // A full file ended the whole transaction, the view's changes with it: the batch fails and is retried.
          if (isSqliteFull(error)) throw error;
          // The changes are in the view, which is what counts; the lines are words for people,
          // and the order page shows the status itself either way.
        }
      }
      return results;
    }, store.file.write);
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

/** What the status service says about a change it applied, as the order page shows it. */
function statusLine(event: OrderEvent, catalog: StatusCatalog) {
  return {
    orderId: event.orderId,
    value: {
      time: event.eventTimestamp,
      level: 30,
      role: 'status',
      msg: `status: ${statusLabel(catalog, event.status)}`,
      fields: { status: event.status, topic: event.topic },
    },
    source: { topic: event.topic, partition: event.partition, offset: event.offset },
  };
}
