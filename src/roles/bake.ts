import type { BusRecord } from '../adapters/bus/bus.js';
import { assembledEventSchema, decodeEvent, encodeEvent } from '../domain/events.js';
import { scaledMs } from '../domain/timings.js';
import {
  CancelRegistry,
  cancelSubscription,
  cancelWindowMs,
  publishCancelled,
  restoreCancels,
  workUnlessCancelled,
} from './cancels.js';
import { consumingRole, type HandlerDeps, requireKey } from './consuming-role.js';
import type { Role, RoleDeps } from './role.js';

export interface BakeDeps extends HandlerDeps {
  cancels: CancelRegistry;
}

/**
 * `pizza-assembled` → bake for its `baking_time` → `pizza-baked`. A cancel
 * takes the pizza out of the oven at once, so its slot is free for the next;
 * a pizza cancelled before its turn never goes in.
 */
export async function bakePizza(record: BusRecord, deps: BakeDeps): Promise<void> {
  const { bus, settings, clock, log, signal, cancels } = deps;
  const orderId = requireKey(record);
  const assembled = decodeEvent(assembledEventSchema, record.value);
  const outcome = await workUnlessCancelled(
    cancels,
    orderId,
    { arrival: 'awaiting-oven', working: 'baking' },
    signal,
    async (working) => {
      log.info({ bakingSeconds: assembled.baking_time }, 'baking the pizza');
      await clock.sleep(scaledMs(assembled.baking_time, settings.shop.timeScale), working);
    },
    async () => {
      await bus.publish(
        settings.topics.baked,
        orderId,
        encodeEvent({ status: settings.statuses.ids.pizza_baked, timestamp: clock.now() }),
      );
    },
  );
  if (outcome === 'cancelled') {
    if (await bakedBefore(record, orderId, deps)) {
      // Baked and handed on by an earlier run: the cancel is too late, and delivery (which has the pizza) says so.
      log.info('cancel known, but this pizza was baked before a restart: it goes on to delivery');
      return;
    }
    await cancels.announceOnce(orderId, () => publishCancelled(deps, orderId));
    log.info('order cancelled: not baked');
    return;
  }
  log.info('pizza baked, ready for delivery');
}

/** How much earlier than its `pizza-assembled` record a `pizza-baked` may be stamped, by another host's clock. */
const CLOCK_SKEW_MARGIN_MS = 15 * 60_000;

/**
 * Whether `pizza-baked` already holds this order: an earlier run baked it and
 * published it, then stopped before committing its input (at-least-once), so
 * the record came back, and a cancel known by now must not be announced for a
 * pizza that is baked. Asked only when a cancel ends the work, which is rare.
 * pizza-baked is keyed like pizza-assembled and has as many partitions (the
 * shop creates its topics alike, and delivery relies on it too), so the order
 * is in the partition of the same number, after its assembled record was written.
 */
async function bakedBefore(record: BusRecord, orderId: string, deps: BakeDeps): Promise<boolean> {
  const baked = await deps.bus.readRanges([
    {
      topic: deps.settings.topics.baked,
      partition: record.partition,
      fromTimestamp: record.timestamp - CLOCK_SKEW_MARGIN_MS,
    },
  ]);
  return baked.some((output) => output.key === orderId);
}

export function createBakeRole(deps: RoleDeps): Role {
  const cancels = new CancelRegistry({
    role: 'bake',
    windowMs: cancelWindowMs(deps.settings),
    now: () => deps.clock.now(),
  });
  return consumingRole(deps, {
    name: 'bake',
    topics: [deps.settings.topics.assembled],
    companion: cancelSubscription(deps, cancels),
    onAssigned: async () => {
      await restoreCancels(deps, cancels);
      return undefined;
    },
    handle: (record, signal, log) => bakePizza(record, { ...deps, log, signal, cancels }),
  });
}
