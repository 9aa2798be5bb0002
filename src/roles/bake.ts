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
    await cancels.announceOnce(orderId, () => publishCancelled(deps, orderId));
    log.info('order cancelled: not baked');
    return;
  }
  log.info('pizza baked, ready for delivery');
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
