import { isComplete, type StatusCatalog, type StatusName, statusName } from './statuses.js';

/**
 * The steps an order passes, in order. Status ids say nothing about this
 * (pending, 150 by default, comes after baked, 300): delivery reports pending
 * in answer to a baked event. `something_wrong` can only end a run early.
 */
const LIFECYCLE: readonly StatusName[] = [
  'order_placed',
  'pizza_assembled',
  'pizza_baked',
  'pending',
  'something_wrong',
];

/** Where an order ends: delivered, cancelled, or any status the settings call completed. */
const FINAL_RANK = LIFECYCLE.length + 1;
const FINAL: readonly StatusName[] = ['delivered', 'cancelled'];

/**
 * How far along its lifecycle a status puts an order (1 = placed), or
 * undefined for a status that is no step of it: `stuck` (the watchdog's, never
 * an event) and ids the catalog does not place. The status view and the Flink
 * SQL both order statuses by this, so they agree on which event wins.
 */
export function lifecycleRank(catalog: StatusCatalog, statusId: number): number | undefined {
  if (statusId === catalog.ids.stuck) return undefined;
  if (isComplete(catalog, statusId)) return FINAL_RANK;
  const name = statusName(catalog, statusId);
  if (name === undefined) return undefined;
  if (FINAL.includes(name)) return FINAL_RANK;
  const index = LIFECYCLE.indexOf(name);
  return index >= 0 ? index + 1 : undefined;
}

/** One order's row in the status view. */
export interface OrderStatus {
  /** What the customer sees: the last event's status, or the watchdog's `stuck`. */
  status: number;
  /** The status of the last event applied, which `stuck` does not replace. */
  eventStatus: number;
  /** The applied event's own timestamp (epoch ms), for the timeline; it decides nothing. */
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
 * event must not change it (callers count those as duplicates).
 *
 * An order only moves forward along its lifecycle: an event applies when its
 * step is further than the row's. Timestamps cannot decide this, because they
 * come from the clock of whichever service wrote the event: a stage redone
 * after a crash (at-least-once) publishes a duplicate with a newer timestamp,
 * which must not move a baked order back to assembled, while a real
 * `delivered` stamped a little before `baked` by a skewed clock must still
 * apply. A completed order never changes again. Because `stuck` keeps the last
 * event's status in `eventStatus`, any forward event replaces it.
 */
export function applyStatusEvent(
  current: OrderStatus | undefined,
  event: IncomingStatus,
  catalog: StatusCatalog,
  now: number,
): OrderStatus | undefined {
  const rank = lifecycleRank(catalog, event.status);
  if (rank === undefined) return undefined;
  const next = { status: event.status, eventStatus: event.status, eventTimestamp: event.timestamp, updatedAt: now };
  if (!current) return next;
  if (isComplete(catalog, current.eventStatus)) return undefined;
  // A row left by an older version with a status off the lifecycle gives way to any step.
  const currentRank = lifecycleRank(catalog, current.eventStatus) ?? 0;
  return rank > currentRank ? next : undefined;
}

/**
 * True when the watchdog should flag this order as stuck: it is open (neither
 * complete nor flagged already) and has not changed for `unchangedForMs`, as
 * the watchdog measured it on its own clock. Not from the row's `updatedAt`:
 * that is the time of whichever service wrote the row, on its own clock.
 */
export function isStuck(
  row: Pick<OrderStatus, 'status' | 'eventStatus'>,
  catalog: StatusCatalog,
  unchangedForMs: number,
  stuckAfterMs: number,
): boolean {
  return row.status !== catalog.ids.stuck && !isComplete(catalog, row.eventStatus) && unchangedForMs >= stuckAfterMs;
}
