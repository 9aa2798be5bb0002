import type { Logger } from 'pino';
import type { Bus, BusRecord, HostRead } from '../adapters/bus/bus.js';
import type { Settings } from '../config/settings.js';
import { type CancellingRole, cancelAction, type OrderStage } from '../domain/cancel.js';
import type { Clock } from '../domain/clock.js';
import { cancelRequestSchema, decodeEvent, encodeEvent, InvalidEventError, orderIdFromKey } from '../domain/events.js';
import { PizzaError } from '../errors.js';
import type { Companion } from './consuming-role.js';
import { perHostGroupId, resolveHostId } from './host.js';
import type { RoleDeps } from './role.js';

/**
 * Cancels, as each stage role sees them. The request comes on its own topic,
 * read by a second subscription beside the role's main one, so a cancel never
 * waits behind the record it cancels in the per-order queue. What to do with a
 * cancel is decided by `domain/cancel.ts`; this file keeps what the role knows:
 * which orders are cancelled (within the orders' retention) and which it holds.
 */

/** Why work was aborted: its order was cancelled. */
export class OrderCancelledError extends PizzaError {
  override readonly name = 'OrderCancelledError';

  constructor(message: string) {
    super('ORDER_CANCELLED', message);
  }
}

/** An order a role is working on, until it hands the order on. */
export interface Hold {
  /** Aborts when the record is taken back (the bus's signal) or, in the kitchen, when the order is cancelled. */
  readonly signal: AbortSignal;
  /** True once the order's cancel stopped the work. */
  cancelled(): boolean;
  /** Lets go before handing the order on: from then on its cancel is the next stage's. False if the cancel came first. */
  release(): boolean;
}

export interface CancelRegistryOptions {
  role: CancellingRole;
  /** How long a cancel is remembered: the orders' retention, beyond which an order is forgotten anyway. */
  windowMs: number;
  now: () => number;
  /** Where an order this role does not hold stands, from the role's own memory (delivery's store). */
  stageOf?: (orderId: string) => OrderStage | undefined;
  /** Announces "too late" for an order at `stage`; only the roles whose table rows say so are asked. */
  refuse?: (orderId: string, stage: OrderStage) => Promise<void>;
}

interface KnownCancel {
  requestedAt: number;
  /** Its reaction (abort, or a refusal announced) is done; a repeat changes nothing. */
  settled: boolean;
}

interface Held {
  stage: OrderStage;
  /** Aborts on the order's cancel or when the bus takes the record back. */
  controller: AbortController;
  cancelled: boolean;
}

/** One role instance's memory of cancels and of the orders it holds. */
export class CancelRegistry {
  private readonly known = new Map<string, KnownCancel>();
  private readonly held = new Map<string, Held>();
  private readonly announced = new Set<string>();

  constructor(private readonly options: CancelRegistryOptions) {}

  get role(): CancellingRole {
    return this.options.role;
  }

  isCancelled(orderId: string): boolean {
    return this.known.has(orderId);
  }

  /** How many cancels are remembered. */
  get size(): number {
    return this.known.size;
  }

  /** True while this role works on the order. */
  holds(orderId: string): boolean {
    return this.held.has(orderId);
  }

  /**
   * What to do with an order that reaches this role at `stage`: `proceed` when
   * it has no cancel; else the table's action (stop, refuse, or remember).
   */
  onArrival(orderId: string, stage: OrderStage): 'proceed' | ReturnType<typeof cancelAction> {
    return this.isCancelled(orderId) ? cancelAction(this.options.role, stage) : 'proceed';
  }

  /**
   * Takes an order in hand at `stage` (assembling, baking, out for delivery)
   * and returns its hold, whose signal combines the bus's `signal` (the record taken back)
   * with the order's cancel.
   */
  hold(orderId: string, stage: OrderStage, signal: AbortSignal): Hold {
    const controller = new AbortController();
    const entry: Held = { stage, controller, cancelled: false };
    this.held.set(orderId, entry);
    // The bus's signal outlives the record (one per partition): listened to while held, not
    // through AbortSignal.any, whose sources keep a reference to every signal made from them.
    const takenBack = () => controller.abort(signal.reason);
    if (signal.aborted) takenBack();
    else signal.addEventListener('abort', takenBack, { once: true });
    const release = () => {
      signal.removeEventListener('abort', takenBack);
      if (this.held.get(orderId) === entry) this.held.delete(orderId);
    };
    return {
      signal: controller.signal,
      cancelled: () => entry.cancelled,
      release: () => {
        release();
        return !entry.cancelled;
      },
    };
  }

  /**
   * Remembers a cancel and reacts to it once: work in hand that the table
   * stops is aborted at once; an order this role must refuse is refused. True
   * when the cancel was new here. A failed refusal rejects, and the same
   * cancel coming again (the bus retries it) tries again.
   */
  async learn(orderId: string, requestedAt: number): Promise<boolean> {
    let entry = this.known.get(orderId);
    if (entry?.settled) return false;
    const fresh = entry === undefined;
    if (!entry) {
      this.forgetOld();
      entry = { requestedAt, settled: false };
      this.known.set(orderId, entry);
    }
    const held = this.held.get(orderId);
    const stage = held?.stage ?? this.options.stageOf?.(orderId);
    const action = cancelAction(this.options.role, stage);
    if (action === 'stop' && held) {
      held.cancelled = true;
      held.controller.abort(new OrderCancelledError(`order ${orderId} was cancelled`));
    }
    if (action === 'refuse' && stage) await this.options.refuse?.(orderId, stage);
    entry.settled = true;
    return fresh;
  }

  /** Runs `announce` unless this instance already announced this order's outcome. */
  async announceOnce(orderId: string, announce: () => Promise<unknown>): Promise<boolean> {
    if (this.announced.has(orderId)) return false;
    // Marked before the publish, so the cancel subscription and the order's record never both announce.
    this.announced.add(orderId);
    try {
      await announce();
    } catch (error) {
      this.announced.delete(orderId);
      throw error;
    }
    return true;
  }

  private forgetOld(): void {
    const oldest = this.options.now() - this.options.windowMs;
    for (const [orderId, entry] of this.known) {
      if (entry.requestedAt >= oldest) continue;
      this.known.delete(orderId);
      this.announced.delete(orderId);
    }
  }
}

/** How long cancels are remembered: as long as the orders view keeps an order. */
export function cancelWindowMs(settings: Settings): number {
  return settings.orders.ordersRetentionHours * 3_600_000;
}

/**
 * Runs a kitchen stage's work on one order unless it is cancelled: `cancelled`
 * when the cancel was known on arrival or stopped the work (nothing was handed
 * on; the caller announces), `done` once `handOver` published the order to the
 * next stage. The order is released just before `handOver`, so a cancel that
 * comes while it is published is the next stage's to decide.
 */
export async function workUnlessCancelled(
  registry: CancelRegistry,
  orderId: string,
  stages: { arrival: OrderStage; working: OrderStage },
  signal: AbortSignal,
  work: (signal: AbortSignal) => Promise<void>,
  handOver: () => Promise<void>,
): Promise<'done' | 'cancelled'> {
  if (registry.onArrival(orderId, stages.arrival) === 'stop') return 'cancelled';
  const hold = registry.hold(orderId, stages.working, signal);
  try {
    await work(hold.signal);
  } catch (error) {
    hold.release();
    // Taken back by the bus as well: the next owner reads the record again, and knows the cancel.
    if (hold.cancelled() && !signal.aborted) return 'cancelled';
    throw error;
  }
  if (!hold.release()) return 'cancelled';
  await handOver();
  return 'done';
}

/** Publishes the order's cancellation on the outcome topic: `{status: <cancelled>, timestamp}`. */
export function publishCancelled(deps: { bus: Bus; settings: Settings; clock: Clock }, orderId: string) {
  const { bus, settings, clock } = deps;
  return bus.publish(
    settings.topics.cancelled,
    orderId,
    encodeEvent({ status: settings.statuses.ids.cancelled, timestamp: clock.now() }),
  );
}

/** Publishes a refusal: `{status: <the order's status>, refused: "too-late", timestamp}`. */
export function publishTooLate(deps: { bus: Bus; settings: Settings; clock: Clock }, orderId: string, status: number) {
  const { bus, settings, clock } = deps;
  return bus.publish(
    settings.topics.cancelled,
    orderId,
    encodeEvent({ status, refused: 'too-late', timestamp: clock.now() }),
  );
}

/** A cancel request's order id, or undefined (logged) for a record that is not one. */
function readCancel(record: BusRecord, log: Logger): string | undefined {
  try {
    const orderId = orderIdFromKey(record.keyBytes);
    decodeEvent(cancelRequestSchema, record.value);
    return orderId;
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    // Every instance of every stage reads this topic: dead-lettering would file it many times over.
    log.warn(
      { topic: record.topic, partition: record.partition, offset: record.offset, reason: error.message },
      'skipping a cancel request that cannot be read',
    );
    return undefined;
  }
}

/** Learns one cancel request from the topic; requests older than the window are past caring. */
export async function handleCancelRequest(
  record: BusRecord,
  deps: { registry: CancelRegistry; settings: Settings; clock: Clock; log: Logger },
): Promise<void> {
  const { registry, settings, clock, log } = deps;
  if (record.timestamp < clock.now() - cancelWindowMs(settings)) return;
  const orderId = readCancel(record, log);
  if (orderId === undefined) return;
  const holding = registry.holds(orderId);
  if (await registry.learn(orderId, record.timestamp)) {
    log.child({ orderId }).info({ holding }, 'cancel requested');
  }
}

/**
 * Learns every cancel still on the topic, before the role works on newly
 * assigned partitions: a role restarted or moved to another host knows each
 * recent cancel from Kafka alone, even one whose order it has not read yet.
 */
export async function restoreCancels(
  deps: { bus: Bus; settings: Settings; clock: Clock; log: Logger },
  registry: CancelRegistry,
): Promise<void> {
  const { bus, settings, clock, log } = deps;
  const started = clock.now();
  const records = await bus.readTopic(settings.topics.cancelRequested);
  const since = clock.now() - cancelWindowMs(settings);
  let learnt = 0;
  for (const record of records) {
    if (record.timestamp < since) continue;
    const orderId = readCancel(record, log);
    if (orderId !== undefined && (await registry.learn(orderId, record.timestamp))) learnt += 1;
  }
  log.info(
    { records: records.length, learnt, known: registry.size, ms: clock.now() - started },
    'cancels read from the topic',
  );
}

/**
 * `cancels-<role group>.host.<host id>`: the cancel reader's id, one per role
 * and host (it was a consumer group's). The prefix keeps it from passing for
 * one of the role's own groups (tooling such as the lineage view counts
 * `<role group>-…` and `<role group>.…` as the role's).
 */
export function cancelsGroupId(settings: Settings, role: CancellingRole): string {
  return perHostGroupId(`cancels-${settings.groupIds[role]}`, resolveHostId(settings));
}

/** How many cancel requests a role works on at once: each is a lookup and, at most, one publish. */
const CANCELS_CAPACITY = 16;

/**
 * The cancel reader beside a stage role's main subscription: a host reader, so
 * every instance reads every partition of the cancel topic and hears every
 * cancel, wherever the order's partition is assigned: the topic need not be
 * co-partitioned with the stage topics. The registry lives in memory, so it
 * reads from the start at every start and stores no position: a repeat
 * changes nothing.
 */
export function cancelSubscription(deps: RoleDeps, registry: CancelRegistry): Companion {
  const { bus, settings, clock, log } = deps;
  const role = registry.role;
  let reader: HostRead | undefined;
  return {
    topics: [settings.topics.cancelRequested],
    async start() {
      reader = await bus.read({
        id: cancelsGroupId(settings, role),
        topics: [settings.topics.cancelRequested],
        capacity: CANCELS_CAPACITY,
        role: `${role}-cancels`,
        log,
        startAt: (partitions) => partitions.map((partition) => ({ ...partition, from: 'beginning' })),
        handle: (record) => handleCancelRequest(record, { registry, settings, clock, log }),
      });
    },
    joined: () => reader !== undefined,
    stop: async () => {
      await reader?.stop();
    },
  };
}
