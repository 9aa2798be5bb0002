import type { BusRecord } from '../adapters/bus/bus.js';
import { assembledEventSchema, decodeEvent, encodeEvent } from '../domain/events.js';
import { scaledMs } from '../domain/timings.js';
import { consumingRole, type HandlerDeps, requireKey } from './kitchen.js';
import type { Role, RoleDeps } from './role.js';

/** `pizza-assembled` → bake for its `baking_time` → `pizza-baked`. */
export async function bakePizza(record: BusRecord, deps: HandlerDeps): Promise<void> {
  const { bus, settings, clock, log, signal } = deps;
  const orderId = requireKey(record);
  const assembled = decodeEvent(assembledEventSchema, record.value);
  log.info({ bakingSeconds: assembled.baking_time }, 'baking the pizza');
  await clock.sleep(scaledMs(assembled.baking_time, settings.shop.timeScale), signal);
  await bus.publish(
    settings.topics.baked,
    orderId,
    encodeEvent({ status: settings.statuses.ids.pizza_baked, timestamp: clock.now() }),
  );
  log.info('pizza baked, ready for delivery');
}

export function createBakeRole(deps: RoleDeps): Role {
  return consumingRole(deps, {
    name: 'bake',
    topics: [deps.settings.topics.assembled],
    handle: (record, signal, log) => bakePizza(record, { ...deps, log, signal }),
  });
}
