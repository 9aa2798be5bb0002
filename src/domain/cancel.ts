import { lifecycleRank } from './status-view.js';
import { isComplete, type StatusCatalog } from './statuses.js';

/**
 * Cancelling an order races the kitchen: the request travels on its own topic,
 * so no stage sees it in order with the order's events. Whatever the timing,
 * the outcome is decided here, from where the order is when a stage holding it
 * meets the cancel (the cancel arrives while the stage works on the order, or
 * the order arrives at a stage that already knows the cancel):
 *
 * | where the order is                 | cancel →      | announced by | what happens                                        |
 * | ---------------------------------- | ------------- | ------------ | --------------------------------------------------- |
 * | not seen yet (no stage has it)     | cancelled     | assemble     | when the order reaches assemble: never assembled    |
 * | assembling                         | cancelled     | assemble     | assembly aborted at once: no pizza-assembled        |
 * | assembled, waiting for the oven    | cancelled     | bake         | when bake takes it: never baked                     |
 * | baking                             | cancelled     | bake         | taken out of the oven at once, the slot freed       |
 * | baked, on its way to delivery      | too late      | deliver      | when deliver takes pizza-baked; delivered as usual  |
 * | pending (baked, order not known)   | too late      | deliver      | delivered (factor 2) once the order arrives         |
 * | out for delivery                   | too late      | deliver      | the delivery goes on                                |
 * | delivered                          | already final | nobody       | nothing: the view already shows delivered           |
 * | cancelled                          | already final | nobody       | nothing: a repeated request is the same request     |
 *
 * "Cancelled" is announced on `pizza-cancelled` as `{status: <cancelled>}`, "too
 * late" as `{status: <the order's status>, refused: "too-late"}`. Exactly one
 * stage holds an order at a time, and a stage lets go of it only by publishing
 * it to the next one (after which a cancel is no longer its business), so one
 * outcome is announced per order. Every stage remembers every cancel, because
 * the order may reach it later.
 */
export type OrderStage =
  | 'not-seen'
  | 'assembling'
  | 'awaiting-oven'
  | 'baking'
  | 'baked'
  | 'pending'
  | 'out-for-delivery'
  | 'delivered'
  | 'cancelled';

export type CancelVerdict = 'cancelled' | 'too-late' | 'already-final';
export type CancellingRole = 'assemble' | 'bake' | 'deliver';

export interface CancelRule {
  verdict: CancelVerdict;
  /** The stage that announces the verdict; none for an order already final. */
  announcedBy: CancellingRole | undefined;
}

export const CANCEL_TABLE: Readonly<Record<OrderStage, CancelRule>> = {
  'not-seen': { verdict: 'cancelled', announcedBy: 'assemble' },
  assembling: { verdict: 'cancelled', announcedBy: 'assemble' },
  'awaiting-oven': { verdict: 'cancelled', announcedBy: 'bake' },
  baking: { verdict: 'cancelled', announcedBy: 'bake' },
  baked: { verdict: 'too-late', announcedBy: 'deliver' },
  pending: { verdict: 'too-late', announcedBy: 'deliver' },
  'out-for-delivery': { verdict: 'too-late', announcedBy: 'deliver' },
  delivered: { verdict: 'already-final', announcedBy: undefined },
  cancelled: { verdict: 'already-final', announcedBy: undefined },
};

export function decideCancel(stage: OrderStage): CancelRule {
  return CANCEL_TABLE[stage];
}

/**
 * What a role does about a cancel, from what it alone sees of the order:
 * `stop` (drop or abort the work, announce cancelled), `refuse` (announce too
 * late, go on), or `remember` (not its turn: the order is at another stage, or
 * final). `stage` is undefined when the order is not in this role's hands.
 */
export type CancelAction = 'stop' | 'refuse' | 'remember';

export function cancelAction(role: CancellingRole, stage: OrderStage | undefined): CancelAction {
  if (stage === undefined) return 'remember';
  const rule = decideCancel(stage);
  if (rule.announcedBy !== role) return 'remember';
  return rule.verdict === 'cancelled' ? 'stop' : 'refuse';
}

/**
 * Whether the order page offers to cancel: until the pizza is out of the oven.
 * `eventStatus` is the last event's status (under a watchdog's `stuck`). The
 * roles decide the outcome whatever the page offered.
 */
export function mayRequestCancel(catalog: StatusCatalog, eventStatus: number): boolean {
  if (isComplete(catalog, eventStatus)) return false;
  const rank = lifecycleRank(catalog, eventStatus);
  const baked = lifecycleRank(catalog, catalog.ids.pizza_baked);
  return rank !== undefined && baked !== undefined && rank < baked;
}

/** How a cancel ended, as the orders view learnt it from `pizza-cancelled`. */
export type CancelOutcome = 'cancelled' | 'refused';

/**
 * The outcome of an order's cancel from the events the view recorded: a
 * cancelled status on any topic wins (Flink forwards it on pizza-status); a
 * record on the outcome topic with another status is a refusal.
 */
export function cancelOutcomeOf(
  events: ReadonlyArray<{ topic: string; status: number }>,
  outcomeTopic: string,
  catalog: StatusCatalog,
): CancelOutcome | undefined {
  if (events.some((event) => event.status === catalog.ids.cancelled)) return 'cancelled';
  return events.some((event) => event.topic === outcomeTopic) ? 'refused' : undefined;
}
