import type { BusRecord } from '../adapters/bus/bus.js';
import { decodeEvent, encodeEvent, orderedEventSchema, orderFromEvent } from '../domain/events.js';
import { assemblingSeconds, bakingSeconds, scaledMs } from '../domain/timings.js';
import { consumingRole, type HandlerDeps, requireKey } from './kitchen.js';
import type { Role, RoleDeps } from './role.js';

/** `pizza-ordered` → assemble for the recipe's time → `pizza-assembled` with the baking time. */
export async function assemblePizza(record: BusRecord, deps: HandlerDeps): Promise<void> {
  const { bus, settings, clock, log, signal } = deps;
  const orderId = requireKey(record);
  const order = orderFromEvent(orderId, decodeEvent(orderedEventSchema, record.value));
  const seconds = assemblingSeconds(order);
  log.info({ assemblingSeconds: seconds, sauce: order.sauce, cheese: order.cheese }, 'assembling the pizza');
  await clock.sleep(scaledMs(seconds, settings.shop.timeScale), signal);
  const bakingTime = bakingSeconds(order);
  await bus.publish(
    settings.topics.assembled,
    orderId,
    encodeEvent({ status: settings.statuses.ids.pizza_assembled, baking_time: bakingTime, timestamp: clock.now() }),
  );
  log.info({ bakingSeconds: bakingTime }, 'pizza assembled, off to the oven');
}

export function createAssembleRole(deps: RoleDeps): Role {
  return consumingRole(deps, {
    name: 'assemble',
    topics: [deps.settings.topics.ordered],
    handle: (record, signal, log) => assemblePizza(record, { ...deps, log, signal }),
  });
}
