import type { Logger } from 'pino';
import type { Bus, BusRecord } from '../adapters/bus/bus.js';
import type { Settings } from '../config/settings.js';
import { assembledEventSchema, decodeEvent, encodeEvent } from '../domain/events.js';
import { scaledMs } from '../domain/timings.js';
import { consumingRole, requireKey } from './kitchen.js';
import type { Clock, Role, RoleDeps } from './role.js';

export interface BakeDeps {
  bus: Bus;
  settings: Settings;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
}

/** `pizza-assembled` → bake for its `baking_time` → `pizza-baked`. */
export async function bakePizza(record: BusRecord, deps: BakeDeps): Promise<void> {
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
