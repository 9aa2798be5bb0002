import type { Logger } from 'pino';
import type { BusRecord, HostRead } from '../adapters/bus/bus.js';
import { outsideTransaction } from '../adapters/kafka/transaction-context.js';
import type { LoggerFactory } from '../adapters/logs/logger.js';
import { decodeOrderLogRecord, ORDER_LOGS_COMPONENT, type OrderLogValue } from '../adapters/logs/order-log-line.js';
import type { OrderLogSink } from '../adapters/logs/order-log-sink.js';
import type { LogSource, OrderLogStore } from '../adapters/sqlite/order-log-store.js';
import { TurnBatch } from '../adapters/sqlite/turn-batch.js';
import { PizzaError } from '../errors.js';
import { perHostGroupId, resolveHostId } from './host.js';
import type { RoleDeps } from './role.js';

/** Lines worked on at once; those of one turn share a SQLite transaction. */
const CAPACITY = 64;
const PURGE_EVERY_MS = 60_000;
const HOUR_MS = 3_600_000;

export interface AppliedLines {
  stored: number;
  duplicate: number;
  expired: number;
  /** A record with no log line in it. */
  unreadable: boolean;
}

/**
 * Applies one record of the log topic, with every line in it, to the store.
 * Applying it twice is harmless (the store keeps one row per record and
 * line), and a record that is not a log line is skipped, never retried or
 * dead-lettered: the lines are for people to read, not work to be done.
 */
export async function applyOrderLogRecord(
  record: BusRecord,
  deps: { writer: OrderLogWriter; now: number; retentionMs: number },
): Promise<AppliedLines> {
  const lines = decodeOrderLogRecord(record.key, record.value);
  const applied: AppliedLines = { stored: 0, duplicate: 0, expired: 0, unreadable: lines.length === 0 };
  const { topic, partition } = record;
  const kept: OrderLogEntry[] = [];
  lines.forEach(({ orderId, value }, index) => {
    // A copy rebuilt from the start of the topic takes only what retention would keep.
    if (value.time < deps.now - deps.retentionMs) {
      applied.expired += 1;
      return;
    }
    // A single-line record (as earlier versions wrote) is known by its offset; a batch's lines by offset and place.
    const offset = lines.length === 1 && record.key === orderId ? record.offset : `${record.offset}:${index}`;
    kept.push({ orderId, value, source: { topic, partition, offset } });
  });
  if (kept.length === 0) return applied;
  // One write per record, not per line: a record carries up to 200 lines.
  for (const stored of await deps.writer.submit(kept)) {
    if (stored) applied.stored += 1;
    else applied.duplicate += 1;
  }
  return applied;
}

type OrderLogEntry = { orderId: string; value: OrderLogValue; source: LogSource };

/**
 * The log projection's writes, a record's lines at a time, one transaction
 * per turn of the event loop (see TurnBatch): per line, whether it was new.
 */
export type OrderLogWriter = TurnBatch<OrderLogEntry[], boolean[]>;

export function orderLogWriter(store: OrderLogStore): OrderLogWriter {
  return new TurnBatch((records, positions) => {
    const stored = store.appendMany(records.flat(), positions);
    let at = 0;
    return records.map((lines) => {
      at += lines.length;
      return stored.slice(at - lines.length, at);
    });
  }, store.file.write);
}

/**
 * Sends every role's lines about an order (from `logs`) to the log topic, for
 * the web app on any host; close the sink before the bus. Without the topic
 * nothing is sent: each line would wait in the producer for the topic to appear.
 */
export async function publishOrderLogs(
  deps: Pick<RoleDeps, 'bus' | 'settings'> & { logs: LoggerFactory },
): Promise<OrderLogSink | undefined> {
  const { bus, settings, logs } = deps;
  if (!logs.attachOrderLogSink) return undefined;
  try {
    if (!(await logTopicExists(deps, logs.root))) return undefined;
  } catch (err) {
    // The shop runs without its log lines rather than not at all.
    logs.root.warn({ err }, 'could not check the log topic: order log lines are not published');
    return undefined;
  }
  // Log lines never wait for a role's transaction (exactly-once mode): they are for people, now.
  return logs.attachOrderLogSink((orderId, line) =>
    outsideTransaction(() => bus.publish(settings.topics.logs, orderId, line)),
  );
}

async function logTopicExists(deps: Pick<RoleDeps, 'bus' | 'settings'>, log: Logger): Promise<boolean> {
  try {
    await deps.bus.requireTopics([deps.settings.topics.logs]);
    return true;
  } catch (error) {
    if (!(error instanceof PizzaError && error.code === 'TOPICS_MISSING')) throw error;
    // The shop works without it: only the order pages' log lines are missing, and the warning says why.
    log.warn(
      { topic: deps.settings.topics.logs },
      `the log topic does not exist, so order pages show no service log lines: ${error.message}`,
    );
    return false;
  }
}

/** The id of this host's reader (once its consumer group's): it reads every partition. */
export function orderLogGroupId(deps: Pick<RoleDeps, 'settings'>): string {
  return perHostGroupId(`${deps.settings.groupIds.status}-logs`, resolveHostId(deps.settings));
}

/**
 * Keeps this host's copy of the log topic in `store`, for the web app's order
 * pages. It reads where the copy says it stopped (so a wiped data dir reads
 * the topic again from the start), and purges lines past the retention.
 */
export async function startOrderLogProjection(
  deps: Pick<RoleDeps, 'bus' | 'settings' | 'clock' | 'log'> & { store: OrderLogStore },
): Promise<{ stop(): Promise<void> }> {
  const { bus, settings, clock, store } = deps;
  // Its lines name the orders of the records it reads: published, they would come back to it.
  const log: Logger = deps.log.child({ component: ORDER_LOGS_COMPONENT });
  const retentionMs = settings.orders.statusRetentionHours * HOUR_MS;
  if (!(await logTopicExists(deps, log))) return { stop: async () => {} };
  const purge = () => {
    try {
      const purged = store.purge(clock.now() - retentionMs);
      if (purged > 0) log.debug({ purged }, 'retention: old order log lines removed');
    } catch (err) {
      log.warn({ err }, 'retention: could not remove old order log lines; trying again later');
    }
  };
  purge();
  const timer = setInterval(purge, PURGE_EVERY_MS);
  timer.unref();

  const writer = orderLogWriter(store);
  let reader: HostRead;
  try {
    reader = await bus.read({
      id: orderLogGroupId(deps),
      topics: [settings.topics.logs],
      capacity: CAPACITY,
      role: 'serve',
      log,
      handle: async (record) => {
        const applied = await applyOrderLogRecord(record, { writer, now: clock.now(), retentionMs });
        if (applied.unreadable) {
          log.debug({ partition: record.partition, offset: record.offset }, 'skipped a record that is no log line');
        }
      },
      // A partition this copy never read (a new or wiped data dir) starts from the beginning.
      startAt: (partitions) =>
        store.storedPositions(partitions).map(({ offset, ...partition }) => ({ ...partition, from: { offset } })),
      // Saved with the next lines; if that write fails, a restart reads a few lines again and keeps one copy.
      onPosition: (position) => writer.notePosition(position),
    });
  } catch (error) {
    clearInterval(timer);
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        await reader.stop();
      })();
      return stopping;
    },
  };
}
