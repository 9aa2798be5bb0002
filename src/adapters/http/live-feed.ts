import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { logFilePath } from '../logs/logger.js';
import type { OrdersStore } from '../sqlite/orders-store.js';

export interface StatusChange {
  orderId: string;
  status: number;
}

type Listener<T> = (change: T) => void;

/**
 * One poller per app for everything the browsers watch. The status role may be
 * another process writing the same SQLite file, so in-process events would miss
 * its changes: the store's change sequence and the log files' sizes are polled
 * instead, cheaply, and only while someone is listening.
 */
export class LiveFeed {
  private readonly statusListeners = new Set<Listener<StatusChange>>();
  private readonly logListeners = new Set<Listener<string>>();
  private readonly logSizes = new Map<string, number>();
  private lastSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  /** Set while the store keeps failing, so a broken store is logged once, not every poll. */
  private storeFailing = false;

  constructor(
    private readonly options: {
      store: OrdersStore;
      logDir: string;
      roles: readonly string[];
      intervalMs: number;
      log: Logger;
    },
  ) {}

  /** Calls `listener` for every status change from now on; returns the unsubscribe. */
  onStatus(listener: Listener<StatusChange>): () => void {
    return this.add(this.statusListeners, listener);
  }

  /** Calls `listener` with a role's name whenever its log file grows. */
  onLog(listener: Listener<string>): () => void {
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
    this.timer = setInterval(() => void this.poll(), this.options.intervalMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.logSizes.clear();
  }

  /** Runs from a timer with no one to await it: it must never reject, or the process ends. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      if (this.statusListeners.size > 0) this.pollStatuses();
      if (this.logListeners.size > 0) await this.pollLogs();
    } catch (err) {
      this.options.log.error({ err }, 'live updates: a poll failed; polling goes on');
    } finally {
      this.polling = false;
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
        this.notify(listener, { orderId: change.orderId, status: change.status });
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

  private async pollLogs(): Promise<void> {
    for (const role of this.options.roles) {
      const size = await stat(logFilePath(this.options.logDir, role)).then(
        (info) => info.size,
        () => 0,
      );
      const known = this.logSizes.get(role);
      this.logSizes.set(role, size);
      // The first look also counts as a change: lines may have landed since the page read them.
      if (known !== size) {
        for (const listener of this.logListeners) this.notify(listener, role);
      }
    }
  }
}
