import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BusRecord } from '../adapters/bus/bus.js';
import { OrdersStore } from '../adapters/sqlite/orders-store.js';
import type { Settings } from '../config/settings.js';
import { decodeEvent, orderedEventSchema, orderFromEvent } from '../domain/events.js';
import { statusLabel } from '../domain/statuses.js';
import { consumingRole } from './kitchen.js';
import type { Clock, Role, RoleDeps } from './role.js';
import { decodePlainStatusRecord, decodeStageRecord, type StatusRecordDecoder } from './status-records.js';

export interface StatusDeps {
  settings: Settings;
  clock: Clock;
  log: Logger;
  store: OrdersStore;
  decode: StatusRecordDecoder;
}

/** Applies one status-bearing record to the orders view and the order's timeline. */
export async function applyStatusRecord(record: BusRecord, deps: StatusDeps): Promise<void> {
  const { settings, store, clock, log } = deps;
  const update = await deps.decode(record);
  if (!update) return;
  const now = clock.now();
  if (record.topic === settings.topics.ordered) {
    // An order placed by another web app (the workshop's, say) joins the view too.
    store.rememberOrder(orderFromEvent(update.orderId, decodeEvent(orderedEventSchema, record.value)), update.timestamp);
  }
  store.recordEvent({
    orderId: update.orderId,
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    status: update.status,
    eventTimestamp: update.timestamp,
    receivedAt: now,
  });
  const changed = store.applyStatus(update.orderId, update, settings.statuses, now);
  const label = statusLabel(settings.statuses, update.status);
  if (changed) log.info({ orderId: update.orderId, status: update.status, topic: record.topic }, `status: ${label}`);
  else log.debug({ orderId: update.orderId, status: update.status, topic: record.topic }, 'older or duplicate status ignored');
}

/** How long an order may sit still before the watchdog flags it, in real ms. */
export function watchdogTimings(settings: Settings): { intervalMs: number; stuckAfterMs: number } {
  // Slowed-down runs (time scale > 1) stretch the stages, so the timeout stretches
  // with them; sped-up runs keep the workshop's real-time bound.
  const stretch = Math.max(1, settings.shop.timeScale);
  return {
    intervalMs: settings.orders.watchdogIntervalMinutes * 60_000,
    stuckAfterMs: settings.orders.stuckAfterMinutes * 60_000 * stretch,
  };
}

export interface StatusRoleOptions {
  /** Decodes `pizza-status` records; needed when the source is `pizza-status`. */
  statusTopicDecoder?: StatusRecordDecoder;
}

export function createStatusRole(deps: RoleDeps, options: StatusRoleOptions = {}): Role {
  const { settings, clock, log } = deps;
  const fromTopics = settings.shop.statusSource === 'topics';
  const topics = fromTopics
    ? [settings.topics.ordered, settings.topics.assembled, settings.topics.baked, settings.topics.delivered, settings.topics.pending]
    : [settings.topics.status];
  const decode = fromTopics ? decodeStageRecord : (options.statusTopicDecoder ?? decodePlainStatusRecord);
  let store: OrdersStore | undefined;
  let watchdog: NodeJS.Timeout | undefined;

  const tick = (activeStore: OrdersStore) => {
    const { stuckAfterMs } = watchdogTimings(settings);
    const now = clock.now();
    for (const orderId of activeStore.markStuck(settings.statuses, now, stuckAfterMs)) {
      log.warn({ orderId }, `watchdog: no progress for ${Math.round(stuckAfterMs / 1000)} s, order flagged as stuck`);
    }
    const purged = activeStore.purge(
      now,
      settings.orders.ordersRetentionHours * 3_600_000,
      settings.orders.statusRetentionHours * 3_600_000,
    );
    if (purged > 0) log.info({ purged }, 'retention: old orders removed');
  };

  return consumingRole(deps, {
    name: 'status',
    topics,
    onStart() {
      store = OrdersStore.open(join(settings.shop.dataDir, settings.orders.fileName));
      const activeStore = store;
      watchdog = setInterval(() => tick(activeStore), watchdogTimings(settings).intervalMs);
      watchdog.unref();
      log.info({ source: fromTopics ? 'stage topics' : settings.topics.status }, 'status view source');
    },
    onStop() {
      clearInterval(watchdog);
      store?.close();
    },
    handle: (record, _signal, orderLog) => {
      if (!store) throw new Error('status received an event before it started');
      return applyStatusRecord(record, { settings, clock, log: orderLog, store, decode });
    },
  });
}
