import type { Logger } from 'pino';
import type { Bus, BusRecord, PartitionRef } from '../adapters/bus/bus.js';
import type { DeliveryStore } from '../adapters/sqlite/delivery-store.js';
import type { Settings } from '../config/settings.js';
import type { Clock } from '../domain/clock.js';
import {
  type DeliveryDecision,
  type DeliveryInput,
  onBakedEvent,
  onOrderEvent,
  replayDeliveries,
} from '../domain/delivery.js';
import { decodeEvent, encodeEvent, orderedEventSchema, statusEventSchema } from '../domain/events.js';
import { deliveryNoteSchema } from '../domain/order.js';
import { deliverySeconds, scaledMs } from '../domain/timings.js';
import { CancelRegistry, cancelSubscription, cancelWindowMs, publishTooLate, restoreCancels } from './cancels.js';
import { consumingRole, type HandlerDeps, requireKey } from './consuming-role.js';
import type { Role, RoleDeps } from './role.js';

export interface DeliverDeps extends HandlerDeps {
  store: DeliveryStore;
  cancels: CancelRegistry;
}

/**
 * Handles both topics delivery listens to. `pizza-ordered` is the early
 * warning that says who the customer is; `pizza-baked` says the pizza is
 * ready. They can arrive in either order: a pizza baked before its order is
 * known is reported pending, and delivered late (factor 2) once it is.
 * The bus never runs two events of one order at once, so decide-then-act is safe.
 */
export async function handleDeliveryEvent(record: BusRecord, deps: DeliverDeps): Promise<void> {
  const { settings, store, log } = deps;
  const orderId = requireKey(record);
  const known = store.get(orderId);
  let decision: DeliveryDecision;
  // The driver's note comes with the order only: it is said in the line that takes the order in.
  let note: { deliveryNote?: string } = {};
  if (record.topic === settings.topics.ordered) {
    const ordered = decodeEvent(orderedEventSchema, record.value);
    decision = onOrderEvent(known, ordered.order.customer_id.toLowerCase());
    note = driverNote(ordered.order.delivery_note, log);
  } else {
    decodeEvent(statusEventSchema, record.value);
    decision = onBakedEvent(known);
  }

  switch (decision.action) {
    case 'remember-customer':
      store.put(
        orderId,
        { state: 'awaiting-pizza', customerId: decision.customerId },
        deps.clock.now(),
        record.partition,
      );
      log.info(note, 'early warning: order noted, waiting for the pizza');
      return;
    case 'mark-pending':
      // Publish first: if we stop in between, the baked event comes back and we say it again.
      await publishStatus(deps, orderId, settings.statuses.ids.pending);
      store.put(orderId, { state: 'pending' }, deps.clock.now(), record.partition);
      log.warn('pizza baked before its order reached delivery: pending until the order arrives');
      if (deps.cancels.onArrival(orderId, 'baked') === 'refuse') await refuseTooLate(deps, orderId);
      return;
    case 'deliver':
      // Baked already: a cancel that came first is refused, and the pizza goes out all the same.
      if (
        deps.cancels.onArrival(orderId, record.topic === settings.topics.ordered ? 'pending' : 'baked') === 'refuse'
      ) {
        await refuseTooLate(deps, orderId);
      }
      await deliver(orderId, decision.customerId, decision.factor, deps, record.partition, note);
      return;
    case 'ignore':
      log.debug({ topic: record.topic, reason: decision.reason }, 'nothing to do');
      return;
  }
}

async function deliver(
  orderId: string,
  customerId: string,
  factor: 1 | 2,
  deps: DeliverDeps,
  partition: number,
  note: { deliveryNote?: string },
): Promise<void> {
  const seconds = deliverySeconds(customerId, factor);
  deps.log.info({ deliverySeconds: seconds, factor, ...note }, 'out for delivery');
  // Held while out: a cancel that comes now is refused (the table never stops a delivery).
  const hold = deps.cancels.hold(orderId, 'out-for-delivery', deps.signal);
  try {
    await deps.clock.sleep(scaledMs(seconds, deps.settings.shop.timeScale), hold.signal);
    await publishStatus(deps, orderId, deps.settings.statuses.ids.delivered);
    deps.store.put(orderId, { state: 'delivered', customerId }, deps.clock.now(), partition);
  } finally {
    hold.release();
  }
  deps.log.info('pizza delivered');
}

/**
 * The customer's note for the driver, as the web app checks it. Another
 * writer's note that is too long or not printable is left out of the lines
 * (they reach the order page): the order itself goes on all the same.
 */
function driverNote(raw: string | undefined, log: Logger): { deliveryNote?: string } {
  if (raw === undefined) return {};
  const checked = deliveryNoteSchema.safeParse(raw);
  if (!checked.success) {
    log.warn({ noteLength: raw.length }, 'the note for the driver is not one the web app accepts; left out');
    return {};
  }
  return checked.data === undefined ? {} : { deliveryNote: checked.data };
}

/**
 * Says "too late" for a cancelled order whose pizza is baked, once per order
 * on this instance. It carries the status the order has: pending while delivery
 * waits for (or delivers after) the order's details, else baked.
 */
async function refuseTooLate(
  deps: Pick<DeliverDeps, 'bus' | 'settings' | 'clock' | 'log' | 'store' | 'cancels'>,
  orderId: string,
): Promise<void> {
  const { ids } = deps.settings.statuses;
  const status = deps.store.get(orderId)?.state === 'pending' ? ids.pending : ids.pizza_baked;
  if (await deps.cancels.announceOnce(orderId, () => publishTooLate(deps, orderId, status))) {
    deps.log.info('cancel refused: too late, the pizza is baked and goes out for delivery');
  }
}

function publishStatus(deps: DeliverDeps, orderId: string, status: number) {
  const topic =
    status === deps.settings.statuses.ids.pending ? deps.settings.topics.pending : deps.settings.topics.delivered;
  return deps.bus.publish(topic, orderId, encodeEvent({ status, timestamp: deps.clock.now() }));
}

/**
 * Rebuilds delivery's memory of newly assigned partitions from what the group
 * already acknowledged on `pizza-ordered` and `pizza-baked` (within the
 * retention), so an instance on any host, with an empty data dir, knows the
 * early warnings and pending pizzas of the partitions it takes over. Their
 * records wait until this is done.
 */
export async function restoreDeliveryState(
  partitions: readonly PartitionRef[],
  deps: { bus: Bus; settings: Settings; clock: Clock; log: Logger; store: DeliveryStore },
): Promise<number> {
  const { bus, settings, clock, log, store } = deps;
  const started = clock.now();
  const committed = await bus.committedOffsets(settings.groupIds.deliver, partitions);
  const since = clock.now() - settings.delivery.retentionHours * 3_600_000;
  // Exactly-once: records a transaction committed as done past its offset (their outputs are out) count too.
  const where = (topic: string, partition: number, offset: string) => `${topic}\u0000${partition}\u0000${offset}`;
  const donePast = new Set(
    committed.flatMap((position) =>
      (position.done ?? []).map((offset) => where(position.topic, position.partition, offset)),
    ),
  );
  const committedAt = new Map(
    committed.map((position) => [where(position.topic, position.partition, ''), position.offset]),
  );
  const ranged = await bus.readRanges(
    committed.map((position) => ({
      topic: position.topic,
      partition: position.partition,
      fromTimestamp: since,
      toOffset: [position.offset, ...(position.done ?? []).map((offset) => (BigInt(offset) + 1n).toString())].reduce(
        (end, offset) => (BigInt(offset) > BigInt(end) ? offset : end),
      ),
    })),
  );
  const records = ranged.filter(
    (record) =>
      BigInt(record.offset) < BigInt(committedAt.get(where(record.topic, record.partition, '')) ?? '0') ||
      donePast.has(where(record.topic, record.partition, record.offset)),
  );
  const inputs: Array<DeliveryInput & { partition: number }> = [];
  for (const record of records) {
    try {
      const orderId = requireKey(record);
      if (record.topic === settings.topics.ordered) {
        const ordered = decodeEvent(orderedEventSchema, record.value);
        inputs.push({
          orderId,
          kind: 'ordered',
          customerId: ordered.order.customer_id.toLowerCase(),
          partition: record.partition,
        });
      } else {
        inputs.push({ orderId, kind: 'baked', partition: record.partition });
      }
    } catch {
      // A bad event was dead-lettered when it was first read: it left no memory then either.
    }
  }
  const partitionOf = new Map(inputs.map((input) => [input.orderId, input.partition]));
  const memory = new Map(
    [...replayDeliveries(inputs)].map(([orderId, record]) => [
      orderId,
      { ...record, partition: partitionOf.get(orderId) ?? 0 },
    ]),
  );
  store.replacePartitions([...new Set(partitions.map((tp) => tp.partition))], memory, clock.now());
  const pending = [...memory.values()].filter((record) => record.state === 'pending').length;
  const awaiting = [...memory.values()].filter((record) => record.state === 'awaiting-pizza').length;
  log.info(
    {
      partitions: partitions.map((tp) => `${tp.topic}[${tp.partition}]`),
      records: records.length,
      orders: memory.size,
      pending,
      awaiting,
      ms: clock.now() - started,
    },
    'delivery memory rebuilt from the topics',
  );
  return memory.size;
}

export function createDeliverRole(deps: RoleDeps): Role {
  const { settings, clock } = deps;
  let store: DeliveryStore | undefined;
  let purgeTimer: NodeJS.Timeout | undefined;
  const retentionMs = settings.delivery.retentionHours * 3_600_000;
  const cancels: CancelRegistry = new CancelRegistry({
    role: 'deliver',
    windowMs: cancelWindowMs(settings),
    now: () => clock.now(),
    // An order not out for delivery right now: what delivery's memory says of it.
    stageOf: (orderId) => {
      const state = store?.get(orderId)?.state;
      return state === 'pending' ? 'pending' : state === 'delivered' ? 'delivered' : undefined;
    },
    refuse: async (orderId) => {
      if (!store) throw new Error('deliver heard of a cancel before it started');
      await refuseTooLate({ ...deps, log: deps.log.child({ orderId }), store, cancels }, orderId);
    },
  });
  return consumingRole(deps, {
    name: 'deliver',
    // One subscription for both topics: co-partitioned, so one member owns an order's events on both.
    topics: [settings.topics.ordered, settings.topics.baked],
    companion: cancelSubscription(deps, cancels),
    onStart() {
      store = deps.stores.delivery();
      const activeStore = store;
      activeStore.purge(clock.now(), retentionMs);
      purgeTimer = setInterval(() => activeStore.purge(clock.now(), retentionMs), 60_000);
      purgeTimer.unref();
    },
    onStop() {
      clearInterval(purgeTimer);
    },
    onAssigned: async (partitions) => {
      if (!store) throw new Error('deliver was assigned partitions before it started');
      await restoreDeliveryState(partitions, { ...deps, store });
      // After delivery's memory: a cancel new to this instance for a pending pizza is refused.
      await restoreCancels(deps, cancels);
      return undefined;
    },
    handle: (record, signal, log) => {
      if (!store) throw new Error('deliver received an event before it started');
      return handleDeliveryEvent(record, { ...deps, log, signal, store, cancels });
    },
  });
}
