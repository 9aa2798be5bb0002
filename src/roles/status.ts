import type { Logger } from 'pino';
import type { BusRecord, Connectivity } from '../adapters/bus/bus.js';
import { STATUS_VIEW_COMPONENT } from '../adapters/logs/order-log-line.js';
import type { OrdersStore } from '../adapters/sqlite/orders-store.js';
import { isSqliteFull } from '../adapters/sqlite/store-full.js';
import { ViewWriter } from '../adapters/sqlite/view-writer.js';
import { statusTopicDecoderFor } from '../adapters/status-topic/decode.js';
import type { Settings } from '../config/settings.js';
import type { Clock } from '../domain/clock.js';
import { decodeEvent, InvalidEventError, orderedEventSchema, orderFromEvent } from '../domain/events.js';
import { HEADERS } from '../domain/headers.js';
import { ORDER_ID_PATTERN } from '../domain/order.js';
import type { StatusRecordDecoder } from '../domain/status-update.js';
import { isComplete, statusLabel, statusName } from '../domain/statuses.js';
import { consumingRole } from './consuming-role.js';
import { perHostGroupId, resolveHostId } from './host.js';
import type { Role, RoleDeps } from './role.js';
import { decodeOutcomeRecord, stageRecordDecoder } from './status-records.js';
import { FlinkSilence, OrderStalls } from './status-silence.js';

export interface StatusDeps {
  settings: Settings;
  clock: Clock;
  log: Logger;
  view: ViewWriter;
  decode: StatusRecordDecoder;
}

/** Applies one status-bearing record to the orders view and the order's timeline. */
export async function applyStatusRecord(record: BusRecord, deps: StatusDeps): Promise<void> {
  const { settings, view, clock, log } = deps;
  const update = await deps.decode(record);
  if (!update) return;
  // However the key was framed, only an order id the web app could have issued makes a row.
  if (!ORDER_ID_PATTERN.test(update.orderId)) {
    throw new InvalidEventError(`the key is not an order id: ${JSON.stringify(update.orderId.slice(0, 40))}`);
  }
  const now = clock.now();
  // An order placed by another web app (the workshop's, say) joins the view too.
  const order =
    record.topic === settings.topics.ordered
      ? orderFromEvent(update.orderId, decodeEvent(orderedEventSchema, record.value))
      : undefined;
  const changed = await view.apply(
    {
      orderId: update.orderId,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      status: update.status,
      eventTimestamp: update.timestamp,
      receivedAt: now,
    },
    order,
    record.headers[HEADERS.idempotencyKey]?.toString(),
  );
  // The role's logger already carries the record's key; a framed key needs the decoded id instead.
  // The order page's status line was written with the change (see ViewWriter): this one is
  // for the role's file, never for the log topic.
  const orderLog = (update.orderId === record.key ? log : log.child({ orderId: update.orderId })).child({
    component: STATUS_VIEW_COMPONENT,
  });
  const fields = { status: update.status, topic: record.topic };
  // A rebuilding view replays hours of history: those lines are for debugging only.
  const live = record.timestamp >= now - 60_000;
  if (changed && live) orderLog.info(fields, `status: ${statusLabel(settings.statuses, update.status)}`);
  else if (changed) orderLog.debug(fields, `status: ${statusLabel(settings.statuses, update.status)}`);
  else orderLog.debug(fields, 'older or duplicate status ignored');
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

/**
 * An order is stuck when a stage had time to work on it and did not. While
 * the broker is away no stage can, nor for a full timeout after it is back.
 */
export function watchdogMayFlag(connectivity: Connectivity, now: number, stuckAfterMs: number): boolean {
  if (!connectivity.up) return false;
  return connectivity.outages === 0 || now - connectivity.since >= stuckAfterMs;
}

export interface StatusRoleOptions {
  /** Decodes `pizza-status` records; by default what Flink writes, with [schema-registry] for Avro. */
  statusTopicDecoder?: StatusRecordDecoder;
  /** How long `pizza-status` may stay silent while orders wait before warning; 30 s × time scale by default. */
  flinkQuietMs?: number;
  /** How often that silence is checked. */
  silenceCheckMs?: number;
}

/** Distinct decode problems logged in full; past that, a flood of new ones goes to debug. */
const MAX_REPORTED_PROBLEMS = 100;

export function createStatusRole(deps: RoleDeps, options: StatusRoleOptions = {}): Role {
  const { settings, clock, log } = deps;
  const fromTopics = settings.shop.statusSource === 'topics';
  // The view needs pizza-ordered in every mode: it carries each order's owner and choices,
  // so a view rebuilt from the topics (on a new web host, or a wiped data dir) has them.
  // The cancel outcomes too, in every mode: a refusal ("too late") is no status for Flink's
  // pizza-status, yet the order page shows it, so every host's view records it.
  const topics = fromTopics
    ? [
        settings.topics.ordered,
        settings.topics.assembled,
        settings.topics.baked,
        settings.topics.delivered,
        settings.topics.pending,
        settings.topics.cancelled,
      ]
    : [settings.topics.ordered, settings.topics.status, settings.topics.cancelled];
  const statusTopicDecoder = options.statusTopicDecoder ?? statusTopicDecoderFor(settings.schemaRegistry);
  const decodeStageRecord = stageRecordDecoder(settings.topics);
  const retentionMs = settings.orders.statusRetentionHours * 3_600_000;
  let store: OrdersStore | undefined;
  let view: ViewWriter | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let silenceCheck: NodeJS.Timeout | undefined;
  let silence: FlinkSilence | undefined;
  const reportedProblems = new Set<string>();

  // A Flink table declared with the wrong formats makes every record undecodable:
  // say so once per distinct problem, with the fix, instead of once per record.
  const reportOnce = (record: BusRecord, problem: InvalidEventError, orderLog: Logger) => {
    const where = { topic: record.topic, partition: record.partition, offset: record.offset };
    if (reportedProblems.has(problem.message) || reportedProblems.size >= MAX_REPORTED_PROBLEMS) {
      orderLog.debug({ ...where, reason: problem.message }, 'skipping a record that cannot be read');
      return;
    }
    reportedProblems.add(problem.message);
    log.error(
      { ...where, reason: problem.message },
      `cannot read ${record.topic}: ${problem.message}. Records like this are skipped; this is logged once.`,
    );
  };

  const stalls = new OrderStalls();
  const tick = (activeStore: OrdersStore) => {
    const { stuckAfterMs } = watchdogTimings(settings);
    const now = clock.now();
    try {
      // Broker outages are measured by the wall clock (connectivity.since); the orders' stalls on this
      // process's own monotonic clock, so no other host's clock, and no clock being set, makes one look stuck.
      const flagging = watchdogMayFlag(deps.bus.connectivity(), now, stuckAfterMs);
      const flagged = stalls.sweep(clock.monotonic(), (unchangedFor) =>
        flagging ? activeStore.markStuck(settings.statuses, now, stuckAfterMs, unchangedFor) : [],
      );
      for (const orderId of flagged) {
        log.warn({ orderId }, `watchdog: no progress for ${Math.round(stuckAfterMs / 1000)} s, order flagged as stuck`);
      }
      const purged = activeStore.purge(
        now,
        settings.orders.ordersRetentionHours * 3_600_000,
        settings.orders.statusRetentionHours * 3_600_000,
      );
      if (purged > 0) log.info({ purged }, 'retention: old orders removed');
    } catch (error) {
      // A full file has said so itself (SqliteFile); the next tick tries again.
      if (!isSqliteFull(error)) log.warn({ err: error }, 'watchdog: could not look at the view; trying again');
    }
  };

  return consumingRole(deps, {
    name: 'status',
    topics,
    // Every host keeps a whole view, so it reads every partition, with no group: the view keeps
    // its read positions itself, and a new or wiped view starts from the beginning. The embedded
    // bus starts empty on each run, so there the view always reads its (in-memory) topics from the start.
    hostRead: {
      id: perHostGroupId(settings.groupIds.status, resolveHostId(settings)),
      startAt: (partitions) =>
        deps.bus.kind === 'kafka' && store
          ? store.offsets
              .startPositions(partitions)
              .map(({ offset, ...partition }) => ({ ...partition, from: offset === '-2' ? 'beginning' : { offset } }))
          : partitions.map((partition) => ({ ...partition, from: 'beginning' })),
    },
    onCommit: (position) => view?.notePosition(position),
    // Confluent Cloud's Flink commits its transactions about once a minute: read_committed would
    // show statuses in bursts a minute apart. A record of an aborted transaction is written again
    // when Flink retries, and the forward-only view ignores the repeat. Such readers share a
    // consumer of their own (one consumer has one isolation level).
    readUncommitted: !fromTopics,
    refreshMetrics: async () => {
      if (!store) return;
      deps.metrics.ordersByStatus.reset();
      for (const { status, count } of store.countByStatus()) {
        deps.metrics.ordersByStatus.set({ status: statusName(settings.statuses, status) ?? String(status) }, count);
      }
    },
    onStart() {
      // The view, and its status lines in this host's copy of the log, share the file's one writer.
      store = deps.stores.orders();
      view = new ViewWriter(store, settings.statuses, deps.stores.orderLogs());
      const activeStore = store;
      watchdog = setInterval(() => tick(activeStore), watchdogTimings(settings).intervalMs);
      watchdog.unref();
      if (!fromTopics) {
        const quietMs = options.flinkQuietMs ?? 30_000 * Math.max(1, settings.shop.timeScale);
        const monitor = new FlinkSilence(clock.monotonic(), activeStore.latestStatusSeq(), quietMs);
        silence = monitor;
        silenceCheck = setInterval(() => {
          const waiting = activeStore
            .statusChangesSince(monitor.seenSeq)
            .some((change) => !isComplete(settings.statuses, change.status));
          if (monitor.check(clock.monotonic(), waiting)) {
            log.warn(
              { topic: settings.topics.status, quietSeconds: Math.round(quietMs / 1000) },
              `nothing has arrived on ${settings.topics.status} for ${Math.round(quietMs / 1000)} s while orders are waiting: ` +
                'the Flink statement that writes it may not be running. Check it (Confluent Cloud: Flink > Statements; ' +
                'locally: npm run flink), or let the status view read the stage topics directly with --status-source topics.',
            );
          }
        }, options.silenceCheckMs ?? 5_000);
        silenceCheck.unref();
      }
      log.info({ source: fromTopics ? 'stage topics' : settings.topics.status }, 'status view source');
    },
    onStop() {
      clearInterval(watchdog);
      clearInterval(silenceCheck);
    },
    handle: async (record, _signal, orderLog) => {
      if (!store || !view) throw new Error('status received an event before it started');
      // A rebuild reads the topics' whole retention; the view keeps only its own.
      if (record.timestamp < clock.now() - retentionMs) return;
      if (record.topic !== settings.topics.status) {
        const decode = record.topic === settings.topics.cancelled ? decodeOutcomeRecord : decodeStageRecord;
        return applyStatusRecord(record, { settings, clock, log: orderLog, view, decode });
      }
      try {
        await applyStatusRecord(record, { settings, clock, log: orderLog, view, decode: statusTopicDecoder });
      } catch (error) {
        // An order id collision is no decoding problem: it goes on to the bus, which dead-letters it.
        if (!(error instanceof InvalidEventError)) throw error;
        reportOnce(record, error, orderLog);
      } finally {
        // Anything on the topic, readable or not, shows the Flink statement is writing.
        silence?.arrived(clock.monotonic(), store.latestStatusSeq());
      }
    },
  });
}
