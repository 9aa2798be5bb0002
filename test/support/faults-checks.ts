/**
 * What a fault trial checks once the dust settles: no order lost, no status
 * moving backward in the view's history, no duplicates hidden (counted, not
 * failed), dead letters where they belong, and how long a failover took.
 */
import { expect, vi } from 'vitest';
import { DELIVERED, deliveredInView, deliveredOnTopic, recordSummary, STUCK, withView } from './faults-orders.js';
import { type FaultShop, type RoleProcess, STAGE_TOPICS, type StageTopic } from './faults-shop.js';

/** The lifecycle, in the order an order goes through it; pending comes after baked. */
const RANK = new Map<number, number>([
  [100, 1], // order_placed
  [200, 2], // pizza_assembled
  [300, 3], // pizza_baked
  [150, 4], // pending
  [DELIVERED, 5],
]);

export const DEAD_LETTER_HEADERS = [
  'pizza-dlq-topic',
  'pizza-dlq-partition',
  'pizza-dlq-offset',
  'pizza-dlq-role',
  'pizza-dlq-reason',
  'pizza-dlq-error',
] as const;

export interface HistoryCheck {
  /** Set when the view keeps no history to check. */
  unavailable?: string;
  regressions: string[];
}

/**
 * Reads each order's applied changes from the view, oldest first: the events
 * that changed its status (`order_events.applied_seq`), or a file of an older
 * build's `status_history`. Lists every step where the event status went back
 * in the lifecycle. `stuck` is allowed as the shown status (the watchdog's flag), never as an event's.
 */
export function historyRegressions(shop: FaultShop, orderIds: readonly string[]): HistoryCheck {
  const result = withView(shop, (db) => {
    const hasTable = (name: string) =>
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    const hasAppliedSeq = (db.pragma('table_info(order_events)') as Array<{ name: string }>).some(
      (column) => column.name === 'applied_seq',
    );
    if (!hasTable('status_history') && !hasAppliedSeq) {
      return {
        unavailable: `${shop.viewDb} keeps no history of applied changes to check (no order_events.applied_seq)`,
        regressions: [],
      };
    }
    const history = hasTable('status_history')
      ? db.prepare(
          'SELECT seq, status, event_status AS eventStatus FROM status_history WHERE order_id = ? ORDER BY seq',
        )
      : db.prepare(
          `SELECT applied_seq AS seq, status, status AS eventStatus FROM order_events
             WHERE order_id = ? AND applied_seq IS NOT NULL ORDER BY applied_seq`,
        );
    const regressions: string[] = [];
    for (const orderId of orderIds) {
      const rows = history.all(orderId) as Array<{ seq: number; status: number; eventStatus: number }>;
      if (rows.length === 0) regressions.push(`${orderId}: no history at all`);
      let best = 0;
      let trail = '';
      for (const row of rows) {
        trail += ` ${row.eventStatus}${row.status === STUCK ? '(stuck)' : ''}`;
        const rank = RANK.get(row.eventStatus);
        if (rank === undefined) {
          regressions.push(`${orderId}: unexpected event status ${row.eventStatus} at seq ${row.seq};${trail}`);
        } else if (rank < best) {
          regressions.push(`${orderId}: went back to ${row.eventStatus} at seq ${row.seq};${trail}`);
        } else {
          best = rank;
        }
        if (row.status !== STUCK && row.status !== row.eventStatus) {
          regressions.push(`${orderId}: shows ${row.status} for event ${row.eventStatus} at seq ${row.seq}`);
        }
      }
    }
    return { regressions };
  });
  return result ?? { unavailable: `${shop.viewDb} could not be read`, regressions: [] };
}

/**
 * Watches the view's status rows while a trial runs (every change has a new
 * `seq`), and counts the times an order's event status went back between two
 * looks. A sample, so it can miss a regression the history would show;
 * informational on a view that keeps no history.
 */
export class ViewWatcher {
  readonly regressions: string[] = [];
  private readonly best = new Map<string, number>();
  private seq = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly shop: FaultShop) {
    this.timer = setInterval(() => this.look(), 40);
  }

  look(): void {
    const rows = withView(
      this.shop,
      (db) =>
        db.prepare('SELECT order_id, event_status, seq FROM status WHERE seq > ? ORDER BY seq').all(this.seq) as Array<{
          order_id: string;
          event_status: number;
          seq: number;
        }>,
    );
    for (const row of rows ?? []) {
      this.seq = Math.max(this.seq, row.seq);
      const rank = RANK.get(row.event_status) ?? 0;
      const best = this.best.get(row.order_id) ?? 0;
      if (rank < best) this.regressions.push(`${row.order_id}: back to ${row.event_status} at seq ${row.seq}`);
      else this.best.set(row.order_id, rank);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.look();
  }
}

/** Records beyond the first per order on each stage topic. */
export function duplicates(shop: FaultShop, orderIds: readonly string[]): Record<StageTopic, number> {
  const wanted = new Set(orderIds);
  const counts = {} as Record<StageTopic, number>;
  for (const stage of STAGE_TOPICS) {
    let extra = 0;
    for (const [key, count] of shop.recorder.keyCounts(shop.topics[stage])) if (wanted.has(key)) extra += count - 1;
    counts[stage] = extra;
  }
  return counts;
}

interface LogLine {
  time?: number;
  msg?: string;
  orderId?: string;
  partitions?: string[];
}

/** From a kill to the first order a process worked on after it (a restarted process, say). */
export function firstWorkAfter(killedAt: number, run: RoleProcess): number | undefined {
  const line = (run.logLines() as LogLine[]).find((entry) => entry.orderId && (entry.time ?? 0) >= killedAt);
  return line?.time === undefined ? undefined : line.time - killedAt;
}

/**
 * From a kill to the first order a survivor worked on from a partition of
 * `topic` that it did not own before the kill: the partition moved to it.
 */
export function takeoverAfter(
  killedAt: number,
  survivor: RoleProcess,
  topic: string,
  partitionOf: (orderId: string) => number | undefined,
): number | undefined {
  const lines = survivor.logLines() as LogLine[];
  const assigned = lines.filter((line) => line.msg === 'partitions assigned' && (line.time ?? 0) < killedAt).at(-1);
  const owned = new Set(
    (assigned?.partitions ?? [])
      .filter((name) => name.startsWith(`${topic}[`))
      .map((name) => Number(/\[(\d+)\]$/.exec(name)?.[1])),
  );
  const line = lines.find((entry) => {
    if (!entry.orderId || (entry.time ?? 0) < killedAt) return false;
    const partition = partitionOf(entry.orderId);
    return partition !== undefined && !owned.has(partition);
  });
  return line?.time === undefined ? undefined : line.time - killedAt;
}

export interface TrialFigures {
  trial: string;
  orderIds: readonly string[];
  /** Dead letters that belong to this trial; for a good-orders trial, the ones seen since it began. */
  deadLetters: number;
  /** Failover or recovery times, by what was measured. */
  failoverMs: Record<string, number | undefined>;
  watcher?: ViewWatcher;
  notes?: string[];
}

/** Prints the trial's summary line, then asserts what every trial must hold (softly, so all failures show). */
export function reportAndCheck(shop: FaultShop, figures: TrialFigures): void {
  const { trial, orderIds } = figures;
  const onTopic = deliveredOnTopic(shop, orderIds);
  const inView = deliveredInView(shop, orderIds);
  const lost = orderIds.filter((orderId) => !onTopic.has(orderId) || !inView.has(orderId));
  const history = historyRegressions(shop, orderIds);
  const dups = duplicates(shop, orderIds);
  const failover = Object.entries(figures.failoverMs)
    .map(([what, ms]) => `${what}=${ms === undefined ? 'none' : `${ms}`}`)
    .join(',');
  const regressions = history.unavailable ? 'n/a (no history)' : String(history.regressions.length);
  const sampled = figures.watcher ? figures.watcher.regressions.length : 0;
  const line =
    `FAULTS ${trial} | placed ${orderIds.length} | delivered ${orderIds.length - lost.length} | lost ${lost.length}` +
    ` | regressions ${regressions} (sampled from the live view: ${sampled}) | dead letters ${figures.deadLetters}` +
    ` | failover ms ${failover || 'n/a'} | duplicates ${STAGE_TOPICS.map((stage) => `${stage}=${dups[stage]}`).join(' ')}`;
  recordSummary(line, {
    trial,
    placed: orderIds.length,
    delivered: orderIds.length - lost.length,
    lost: lost.length,
    regressions: history.unavailable ? null : history.regressions.length,
    sampledRegressions: sampled,
    deadLetters: figures.deadLetters,
    failoverMs: figures.failoverMs,
    duplicates: dups,
    notes: figures.notes ?? [],
  });
  for (const note of figures.notes ?? []) console.log(`FAULTS ${trial} note: ${note}`);
  if (figures.watcher?.regressions.length) {
    console.log(`FAULTS ${trial} sampled regressions: ${figures.watcher.regressions.slice(0, 5).join('; ')}`);
  }

  expect.soft(shop.deadProcesses(), 'role processes that died on their own').toEqual([]);
  expect.soft(orderIds.length, 'orders placed').toBeGreaterThan(0);
  expect
    .soft(
      lost.map((orderId) => `${orderId} (topic ${onTopic.has(orderId)}, view ${inView.has(orderId)})`),
      'orders placed but not delivered on pizza-delivered and in the view',
    )
    .toEqual([]);
  expect.soft(history.unavailable, 'the view keeps a status history').toBeUndefined();
  expect.soft(history.regressions.slice(0, 10), 'status regressions in the view history').toEqual([]);
  expect.soft(figures.watcher?.regressions.slice(0, 10) ?? [], 'status regressions seen in the live view').toEqual([]);
}

/** Resolves once every instance's latest assignment holds some of `topic`'s partitions. */
export async function waitForSharedAssignment(
  instances: RoleProcess[],
  topic: string,
  timeoutMs = 60_000,
): Promise<void> {
  const owns = (instance: RoleProcess) => {
    const latest = instance
      .logLines()
      .filter((line) => line.msg === 'partitions assigned' || line.msg === 'partitions revoked')
      .at(-1) as { msg?: string; partitions?: string[] } | undefined;
    return (
      latest?.msg === 'partitions assigned' && (latest.partitions ?? []).some((name) => name.startsWith(`${topic}[`))
    );
  };
  await vi.waitFor(
    () => {
      if (!instances.every(owns))
        throw new Error(`${instances.map((i) => i.name).join(' and ')} never shared ${topic}`);
    },
    { timeout: timeoutMs, interval: 200 },
  );
}
