import type { BusRecord } from '../adapters/bus/bus.js';
import { decodeEvent, encodeEvent, orderedEventSchema, orderFromEvent } from '../domain/events.js';
import { assemblingSeconds, bakingSeconds, scaledMs } from '../domain/timings.js';
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

export interface AssembleDeps extends HandlerDeps {
  cancels: CancelRegistry;
}

/**
 * `pizza-ordered` → assemble for the recipe's time → `pizza-assembled` with the
 * baking time; or, for an order cancelled before or while it is assembled,
 * nothing but its cancellation on the outcome topic.
 */
export async function assemblePizza(record: BusRecord, deps: AssembleDeps): Promise<void> {
  const { bus, settings, clock, log, signal, cancels } = deps;
  const orderId = requireKey(record);
  const order = orderFromEvent(orderId, decodeEvent(orderedEventSchema, record.value));
  const seconds = assemblingSeconds(order);
  const bakingTime = bakingSeconds(order);
  const outcome = await workUnlessCancelled(
    cancels,
    orderId,
    { arrival: 'not-seen', working: 'assembling' },
    signal,
    async (working) => {
      log.info({ assemblingSeconds: seconds, sauce: order.sauce, cheese: order.cheese }, 'assembling the pizza');
      await clock.sleep(scaledMs(seconds, settings.shop.timeScale), working);
    },
    async () => {
      await bus.publish(
        settings.topics.assembled,
        orderId,
        encodeEvent({ status: settings.statuses.ids.pizza_assembled, baking_time: bakingTime, timestamp: clock.now() }),
      );
    },
  );
  if (outcome === 'cancelled') {
    await cancels.announceOnce(orderId, () => publishCancelled(deps, orderId));
    log.info('order cancelled: not assembled');
    return;
  }
  log.info({ bakingSeconds: bakingTime }, 'pizza assembled, off to the oven');
}

export function createAssembleRole(deps: RoleDeps): Role {
  const cancels = new CancelRegistry({
    role: 'assemble',
    windowMs: cancelWindowMs(deps.settings),
    now: () => deps.clock.now(),
  });
  return consumingRole(deps, {
    name: 'assemble',
    topics: [deps.settings.topics.ordered],
    companion: cancelSubscription(deps, cancels),
    onAssigned: async () => {
      await restoreCancels(deps, cancels);
      return undefined;
    },
    handle: (record, signal, log) => assemblePizza(record, { ...deps, log, signal, cancels }),
  });
}
