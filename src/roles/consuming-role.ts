import type { Logger } from 'pino';
import type {
  BusRecord,
  HostRead,
  HostReadOptions,
  RecordHandler,
  SubscribeOptions,
  Subscription,
} from '../adapters/bus/bus.js';
import { lazyChild } from '../adapters/logs/lazy-child.js';
import type { StageRole } from '../config/settings.js';
import { orderIdFromKey } from '../domain/events.js';
import { claimInstanceSlot, resolveHostId } from './host.js';
import type { Role, RoleDeps } from './role.js';

/** What a record handler works with: the role's collaborators, its order's logger, and the stop signal. */
export interface HandlerDeps extends RoleDeps {
  signal: AbortSignal;
}

/** A second subscription a role keeps beside its main one (the cancel requests): started first, stopped last. */
export interface Companion {
  /** The topics it reads, checked with the role's own before anything starts. */
  topics: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  joined(): boolean;
}

export interface ConsumingRoleSpec {
  name: StageRole;
  topics: string[];
  /** The work for one record. `signal` aborts when the record is taken back (revoked, or the role stopping). */
  handle(record: BusRecord, signal: AbortSignal, log: Logger): Promise<void>;
  onStart?(): void;
  onStop?(): void;
  /** Restores state for newly assigned partitions, or says where to read them from (see SubscribeOptions). */
  onAssigned?: SubscribeOptions['onAssigned'];
  onCommit?: SubscribeOptions['onCommit'];
  refreshMetrics?: () => Promise<void>;
  readUncommitted?: boolean;
  /**
   * Reads as a host reader (every partition, no group; see HostReadOptions)
   * instead of joining the role's consumer group: for a role that keeps a
   * whole copy on each host (the status view). `onCommit` then hears its
   * positions, and `onAssigned` is not asked.
   */
  hostRead?: Pick<HostReadOptions, 'id' | 'startAt'>;
  /** Runs beside the main subscription: joined before it starts taking records, stopped after it. */
  companion?: Companion;
}

/**
 * The shape shared by every consuming role: one consumer group subscription
 * (or a host reader),
 * a capacity from the settings, and a shutdown that lets work in flight finish
 * for a short grace period and then hands it back uncommitted.
 */
export function consumingRole(deps: RoleDeps, spec: ConsumingRoleSpec): Role {
  const { bus, settings, log } = deps;
  let subscription: Subscription | undefined;
  let hostRead: HostRead | undefined;
  let stopping: Promise<void> | undefined;

  return {
    name: spec.name,
    async start() {
      // Every topic the role will read, checked at once, so a user learns of all the missing ones together.
      await bus.requireTopics([...spec.topics, ...(spec.companion?.topics ?? [])]);
      spec.onStart?.();
      await spec.companion?.start();
      const common = {
        ...(spec.readUncommitted ? { readUncommitted: true } : {}),
        topics: spec.topics,
        capacity: settings.shop.capacity[spec.name],
        role: spec.name,
        observer: deps.metrics.observer(spec.name, settings.shop.capacity[spec.name]),
        log,
        // A bad event (InvalidEventError) is not retried: the bus dead-letters it with the reason.
        handle: roleRecordHandler(log, spec.handle),
      };
      if (spec.hostRead) {
        hostRead = await bus.read({
          ...common,
          ...spec.hostRead,
          ...(spec.onCommit ? { onPosition: spec.onCommit } : {}),
        });
      } else {
        subscription = await bus.subscribe({
          ...common,
          groupId: settings.groupIds[spec.name],
          ...(spec.onAssigned ? { onAssigned: spec.onAssigned } : {}),
          ...(spec.onCommit ? { onCommit: spec.onCommit } : {}),
          clientId: settings.clientIds[spec.name],
          instanceId: `${resolveHostId(settings)}.${claimInstanceSlot(settings, spec.name)}`,
        });
      }
      log.info({ topics: spec.topics, capacity: settings.shop.capacity[spec.name] }, 'ready');
    },
    readiness() {
      if (!subscription && !hostRead) return 'starting';
      if (spec.companion && !spec.companion.joined()) return 'not reading its cancel requests yet';
      return !subscription || subscription.joined() ? undefined : 'not in its consumer group yet';
    },
    ...(spec.refreshMetrics ? { refreshMetrics: spec.refreshMetrics } : {}),
    stop() {
      stopping ??= (async () => {
        try {
          await subscription?.stop();
          await hostRead?.stop();
        } finally {
          // Cancels keep coming while the main subscription hands its work back.
          await spec.companion
            ?.stop()
            .catch((err: unknown) => log.warn({ err }, 'cancel subscription did not stop cleanly'));
          spec.onStop?.();
          log.info('stopped');
        }
      })();
      return stopping;
    },
  };
}

/** The bus's record handler for a role's: the record's work with its order's logger (made when it first writes). */
export function roleRecordHandler(log: Logger, handle: ConsumingRoleSpec['handle']): RecordHandler {
  return (record, signal) => handle(record, signal, lazyChild(log, { orderId: record.key ?? undefined }));
}

/** Every event is keyed by its order id, checked byte for byte: an odd key is a bad event, never an order. */
export function requireKey(record: BusRecord): string {
  return orderIdFromKey(record.keyBytes);
}
