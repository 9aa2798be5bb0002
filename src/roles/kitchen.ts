import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { BusRecord, Subscription } from '../adapters/bus/bus.js';
import type { StageRole } from '../config/settings.js';
import { InvalidEventError } from '../domain/events.js';
import { type Role, type RoleDeps, SHUTDOWN_GRACE_MS } from './role.js';

/** What a record handler works with: the role's collaborators, its order's logger, and the stop signal. */
export interface HandlerDeps extends RoleDeps {
  signal: AbortSignal;
}

export interface ConsumingRoleSpec {
  name: StageRole;
  topics: string[];
  /** The work for one record. `signal` aborts when the role is stopping. */
  handle(record: BusRecord, signal: AbortSignal, log: Logger): Promise<void>;
  onStart?(): void;
  onStop?(): void;
}

/**
 * The shape shared by every consuming role: one consumer group subscription,
 * a capacity from the settings, and a shutdown that lets work in flight finish
 * for a short grace period and then hands it back uncommitted.
 */
export function consumingRole(deps: RoleDeps, spec: ConsumingRoleSpec): Role {
  const { bus, settings, log } = deps;
  const abort = new AbortController();
  // Every record in flight waits on this one signal; capacity, not 10, bounds the listeners.
  setMaxListeners(0, abort.signal);
  let subscription: Subscription | undefined;
  let stopping: Promise<void> | undefined;

  return {
    name: spec.name,
    async start() {
      spec.onStart?.();
      subscription = await bus.subscribe({
        groupId: settings.groupIds[spec.name],
        clientId: settings.clientIds[spec.name],
        topics: spec.topics,
        capacity: settings.shop.capacity[spec.name],
        log,
        handle: async (record) => {
          const orderLog = log.child({ orderId: record.key ?? undefined });
          try {
            await spec.handle(record, abort.signal, orderLog);
          } catch (err) {
            if (err instanceof InvalidEventError) {
              // Retrying cannot fix a malformed event: say why, then move past it.
              orderLog.error(
                { topic: record.topic, partition: record.partition, offset: record.offset, reason: err.message },
                'skipping an event that cannot be read',
              );
              return;
            }
            throw err;
          }
        },
      });
      log.info({ topics: spec.topics, capacity: settings.shop.capacity[spec.name] }, 'ready');
    },
    stop() {
      stopping ??= (async () => {
        const grace = setTimeout(() => abort.abort(new Error('role stopping')), SHUTDOWN_GRACE_MS);
        try {
          await subscription?.stop();
        } finally {
          clearTimeout(grace);
          abort.abort(new Error('role stopped'));
          spec.onStop?.();
          log.info('stopped');
        }
      })();
      return stopping;
    },
  };
}

/** Every event is keyed by its order id; a record without one cannot be placed. */
export function requireKey(record: BusRecord): string {
  if (!record.key) throw new InvalidEventError('the record has no key; the order id is expected there');
  return record.key;
}
