import type { Logger } from 'pino';
import type { OrderLogChange, OrderLogStore } from '../sqlite/order-log-store.js';
import type { OrdersStore } from '../sqlite/orders-store.js';

export interface StatusChange {
  orderId: string;
  status: number;
  /** The orders view's change number: a page that saw it has everything before it. */
  seq: number;
}

/**
 * Where a page is: which view's numbers it holds, the last status change and
 * the last log line it has. Sent as each event's `id`, and back as
 * `Last-Event-ID` (or `?last=`, for a page that opens a new stream).
 */
export interface Cursor {
  viewId: string;
  statusSeq: number;
  logSeq: number;
}

export function formatCursor(cursor: Cursor): string {
  return `${cursor.viewId}.${cursor.statusSeq}.${cursor.logSeq}`;
}

export function parseCursor(text: unknown): Cursor | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^([A-Za-z0-9_-]{1,64})\.(\d{1,15})\.(\d{1,15})$/.exec(text);
  if (!match) return undefined;
  return { viewId: match[1] as string, statusSeq: Number(match[2]), logSeq: Number(match[3]) };
}

type Listener<T> = (change: T) => void;

export interface LiveFeedOptions {
  store: OrdersStore;
  /** The roles whose log lines pages can show; the others' changes are not announced. */
  roles: readonly string[];
  intervalMs: number;
  log: Logger;
  /**
   * Names this host's orders view: change numbers mean something only to the
   * view that gave them, so a page that reaches another host (or this one after
   * a restart) hears a different id and reloads its state as a whole.
   */
  viewId: string;
}

/**
 * One poller per app for everything the browsers watch. The status role may be
 * another process writing the same SQLite file, so in-process events would miss
 * its changes: the orders view's change sequence and the order log lines'
 * sequence are polled instead, cheaply, and only while someone is listening.
 */
export class LiveFeed {
  private readonly statusListeners = new Set<Listener<StatusChange>>();
  private readonly logListeners = new Set<Listener<OrderLogChange>>();
  private orderLogs: OrderLogStore | undefined;
  private lastSeq = 0;
  private lastLogSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Set while a store keeps failing, so a broken store is logged once, not every poll. */
  private storeFailing = false;
  private logsFailing = false;

  constructor(private readonly options: LiveFeedOptions) {}

  get viewId(): string {
    return this.options.viewId;
  }

  /** Announces new log lines from `orderLogs` to `onLog` listeners. */
  watchOrderLogs(orderLogs: OrderLogStore): void {
    this.orderLogs = orderLogs;
    if (this.timer) this.lastLogSeq = this.readLatestLogSeq() ?? this.lastLogSeq;
  }

  /** Calls `listener` for every status change from now on; returns the unsubscribe. */
  onStatus(listener: Listener<StatusChange>): () => void {
    return this.add(this.statusListeners, listener);
  }

  /** Calls `listener` whenever a role has new log lines about an order, with the newest line's number. */
  onLog(listener: Listener<OrderLogChange>): () => void {
    return this.add(this.logListeners, listener);
  }

  close(): void {
    this.statusListeners.clear();
    this.logListeners.clear();
    this.stopTimer();
  }

  private add<T>(listeners: Set<Listener<T>>, listener: Listener<T>): () => void {
    if (!this.timer) this.startTimer();
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (this.statusListeners.size === 0 && this.logListeners.size === 0) this.stopTimer();
    };
  }

  private startTimer(): void {
    try {
      this.lastSeq = this.options.store.latestStatusSeq();
    } catch (err) {
      // Keep the last known position; the first poll that can read the store catches up from there.
      this.options.log.warn({ err }, 'live updates: the orders view cannot be read; retrying');
    }
    this.lastLogSeq = this.readLatestLogSeq() ?? this.lastLogSeq;
    this.timer = setInterval(() => this.poll(), this.options.intervalMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private readLatestLogSeq(): number | undefined {
    try {
      return this.orderLogs?.latestSeq();
    } catch (err) {
      this.options.log.warn({ err }, 'live updates: the order log lines cannot be read; retrying');
      return undefined;
    }
  }

  /** Runs from a timer with no one to await it: it must never throw, or the process ends. */
  private poll(): void {
    try {
      if (this.statusListeners.size > 0) this.pollStatuses();
      if (this.logListeners.size > 0) this.pollLogs();
    } catch (err) {
      this.options.log.error({ err }, 'live updates: a poll failed; polling goes on');
    }
  }

  private pollStatuses(): void {
    let changes: ReturnType<OrdersStore['statusChangesSince']>;
    try {
      changes = this.options.store.statusChangesSince(this.lastSeq);
    } catch (err) {
      // A busy or closing database: the same changes are asked for again on the next poll.
      if (!this.storeFailing) this.options.log.warn({ err }, 'live updates: the orders view cannot be read; retrying');
      this.storeFailing = true;
      return;
    }
    if (this.storeFailing) this.options.log.info('live updates: the orders view can be read again');
    this.storeFailing = false;
    for (const change of changes) {
      this.lastSeq = change.seq;
      for (const listener of this.statusListeners) {
        this.notify(listener, { orderId: change.orderId, status: change.status, seq: change.seq });
      }
    }
  }

  /** One listener's failure (its page's stream, say) must not keep the change from the others. */
  private notify<T>(listener: Listener<T>, change: T): void {
    try {
      listener(change);
    } catch (err) {
      this.options.log.warn({ err }, 'live updates: a listener failed on a change');
    }
  }

  private pollLogs(): void {
    if (!this.orderLogs) return;
    let changes: OrderLogChange[];
    try {
      changes = this.orderLogs.changesSince(this.lastLogSeq);
    } catch (err) {
      if (!this.logsFailing)
        this.options.log.warn({ err }, 'live updates: the order log lines cannot be read; retrying');
      this.logsFailing = true;
      return;
    }
    if (this.logsFailing) this.options.log.info('live updates: the order log lines can be read again');
    this.logsFailing = false;
    for (const change of changes) {
      this.lastLogSeq = Math.max(this.lastLogSeq, change.seq);
      if (!this.options.roles.includes(change.role)) continue;
      for (const listener of this.logListeners) this.notify(listener, change);
    }
  }
}
