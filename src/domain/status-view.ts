import { isComplete, type StatusCatalog, type StatusName, statusName } from './statuses.js';

/**
 * The order in which an order's statuses happen, used when two events carry
 * the same millisecond. Pending comes after baked: delivery reports it in
 * answer to a baked event.
 */
const PROGRESS: readonly StatusName[] = [
  'order_placed',
  'pizza_assembled',
  'pizza_baked',
  'pending',
  'delivered',
  'cancelled',
  'something_wrong',
];

function progress(catalog: StatusCatalog, status: number): number {
  const name = statusName(catalog, status);
  return name ? PROGRESS.indexOf(name) : -1;
}

/** One order's row in the status view. */
export interface OrderStatus {
  /** What the customer sees: the last event's status, or the watchdog's `stuck`. */
  status: number;
  /** The status of the newest event applied, which `stuck` does not replace. */
  eventStatus: number;
  /** The newest applied event's own timestamp (epoch ms), which orders the events. */
  eventTimestamp: number;
  /** When the row last changed, by the clock of the service that changed it. */
  updatedAt: number;
}

export interface IncomingStatus {
  status: number;
  timestamp: number;
}

/**
 * Applies a status event to an order's row, or returns undefined when the
 * event must not change it. Events are ordered by their own timestamp, so a
 * duplicate or a late old event never moves an order backward; a tie goes to
 * the further status. A completed order stays complete. Because `stuck` keeps
 * the last event's timestamp, any later progress replaces it.
 */
export function applyStatusEvent(
  current: OrderStatus | undefined,
  event: IncomingStatus,
  catalog: StatusCatalog,
  now: number,
): OrderStatus | undefined {
  if (event.status === catalog.ids.stuck) return undefined;
  const next = { status: event.status, eventStatus: event.status, eventTimestamp: event.timestamp, updatedAt: now };
  if (!current) return next;
  if (isComplete(catalog, current.eventStatus)) return undefined;
  if (event.timestamp > current.eventTimestamp) return next;
  if (
    event.timestamp === current.eventTimestamp &&
    progress(catalog, event.status) > progress(catalog, current.eventStatus)
  ) {
    return next;
  }
  return undefined;
}

/** True when the watchdog should flag this order as stuck. */
export function isStuck(row: OrderStatus, catalog: StatusCatalog, now: number, stuckAfterMs: number): boolean {
  return (
    row.status !== catalog.ids.stuck && !isComplete(catalog, row.eventStatus) && now - row.updatedAt >= stuckAfterMs
  );
}
