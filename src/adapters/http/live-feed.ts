import { stat } from 'node:fs/promises';
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

  constructor(
    private readonly options: { store: OrdersStore; logDir: string; roles: readonly string[]; intervalMs: number },
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
    this.lastSeq = this.options.store.latestStatusSeq();
    this.timer = setInterval(() => void this.poll(), this.options.intervalMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.logSizes.clear();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      if (this.statusListeners.size > 0) this.pollStatuses();
      if (this.logListeners.size > 0) await this.pollLogs();
    } finally {
      this.polling = false;
    }
  }

  private pollStatuses(): void {
    let changes: ReturnType<OrdersStore['statusChangesSince']>;
    try {
      changes = this.options.store.statusChangesSince(this.lastSeq);
    } catch {
      return; // The store is closing; the app is going away.
    }
    for (const change of changes) {
      this.lastSeq = change.seq;
      for (const listener of this.statusListeners) listener({ orderId: change.orderId, status: change.status });
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
        for (const listener of this.logListeners) listener(role);
      }
    }
  }
}
