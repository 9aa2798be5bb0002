import { hostname } from 'node:os';
import { lineAsIs } from './line-as-is.js';
import { encodeOrderLogLine, encodeOrderLogLines, orderLogRecord } from './order-log-line.js';

/** Publishes one record of lines under `key`; resolves once the broker has it. */
export type OrderLogPublish = (key: string, value: Buffer) => Promise<unknown>;

export interface OrderLogSinkOptions {
  publish: OrderLogPublish;
  /** Where the sink's own troubles go: the console only, never a logger that feeds this sink. */
  warn(fields: Record<string, unknown>, message: string): void;
  /** Lines waiting to be published; beyond it new lines are dropped and counted. */
  capacity?: number;
  /** Records awaiting their delivery report at once. */
  maxInFlight?: number;
  /** Lines one record carries at most. */
  maxLinesPerRecord?: number;
  /** How long a line waits for others to share its record. */
  lingerMs?: number;
  /**
   * The key of this sink's records: one per process, so one role's lines stay
   * in order on one partition.
   */
  key?: string;
  /** At most one warning this often, however much is dropped. */
  warnEveryMs?: number;
  now?: () => number;
  /** Runs once when `close` starts, to stop feeding the sink. */
  onClose?: () => void;
}

export interface OrderLogSinkStats {
  /** Lines waiting, and lines in records awaiting their delivery report. */
  queued: number;
  inFlight: number;
  published: number;
  /** Lines the full queue (or a closed sink) turned away. */
  dropped: number;
  /** Lines the bus refused or gave up on. */
  failed: number;
}

export const ORDER_LOG_QUEUE_CAPACITY = 10_000;
const MAX_IN_FLIGHT = 8;
const MAX_LINES_PER_RECORD = 200;
const LINGER_MS = 20;
const WARN_EVERY_MS = 60_000;
/** A line has an order id at its top level; the cheap look comes before parsing. */
const ORDER_ID_NEEDLE = '"orderId":"';

/**
 * Takes the roles' log lines about orders and publishes them to the log topic,
 * off the critical path: `write` only queues, and the queue drains through the
 * bus later, many lines to a record (lines that arrive within `lingerMs` share
 * one). The queue and the records in flight are bounded, so a broker outage
 * costs at most their memory: what does not fit is dropped and counted.
 */
export class OrderLogSink {
  private readonly lines: string[] = [];
  private head = 0;
  private inFlight = 0;
  private recordsInFlight = 0;
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private scheduledSoon = false;
  private closed = false;
  private readonly counts = { published: 0, dropped: 0, failed: 0 };
  /** Dropped or failed since the last warning, for the next one. */
  private readonly unreported = { dropped: 0, failed: 0 };
  private lastWarnAt = Number.NEGATIVE_INFINITY;
  private lastError = '';
  private readonly idleWaiters = new Set<() => void>();
  private readonly capacity: number;
  private readonly maxInFlight: number;
  private readonly maxLinesPerRecord: number;
  private readonly lingerMs: number;
  private readonly key: string;
  private readonly warnEveryMs: number;
  private readonly now: () => number;

  constructor(private readonly options: OrderLogSinkOptions) {
    this.capacity = options.capacity ?? ORDER_LOG_QUEUE_CAPACITY;
    this.maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT;
    this.maxLinesPerRecord = options.maxLinesPerRecord ?? MAX_LINES_PER_RECORD;
    this.lingerMs = options.lingerMs ?? LINGER_MS;
    this.key = options.key ?? `${hostname()}.${process.pid}`;
    this.warnEveryMs = options.warnEveryMs ?? WARN_EVERY_MS;
    this.now = options.now ?? Date.now;
  }

  /** Takes one serialized pino line (a stream's `write`); never blocks and never throws. */
  write(line: string): void {
    if (!line.includes(ORDER_ID_NEEDLE)) return;
    if (this.closed || this.queued >= this.capacity) {
      this.counts.dropped += 1;
      this.unreported.dropped += 1;
      this.maybeWarn();
      return;
    }
    this.lines.push(line);
    this.schedule();
  }

  stats(): OrderLogSinkStats {
    return { queued: this.queued, inFlight: this.inFlight, ...this.counts };
  }

  /**
   * Takes no more lines and lets the queue drain for up to `graceMs`; what is
   * left then is dropped and counted. Idempotent.
   */
  async close(graceMs = 2_000): Promise<OrderLogSinkStats> {
    if (!this.closed) this.options.onClose?.();
    this.closed = true;
    if (this.queued > 0) this.schedule();
    if (this.queued > 0 || this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, graceMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.idleWaiters.add(done);
      });
      this.idleWaiters.clear();
    }
    const left = this.queued;
    this.lines.length = 0;
    this.head = 0;
    this.counts.dropped += left;
    this.unreported.dropped += left;
    if (this.unreported.dropped + this.unreported.failed > 0) this.warn();
    return this.stats();
  }

  private get queued(): number {
    return this.lines.length - this.head;
  }

  /**
   * Drains on a later turn, so the line's parsing and publishing never run
   * inside the log call: soon when a record's worth is waiting (or the sink
   * closes), after the linger otherwise.
   */
  private schedule(): void {
    const soon = this.closed || this.queued >= this.maxLinesPerRecord || this.lingerMs === 0;
    if (this.scheduled && (this.scheduledSoon || !soon)) return;
    if (this.scheduled) clearTimeout(this.scheduled as NodeJS.Timeout);
    this.scheduledSoon = soon;
    this.scheduled = soon
      ? setImmediate(() => this.pump(this.closed || this.lingerMs === 0))
      : setTimeout(() => this.pump(true), this.lingerMs);
  }

  private take(): string | undefined {
    const line = this.lines[this.head];
    this.head += 1;
    if (this.head >= this.lines.length) {
      this.lines.length = 0;
      this.head = 0;
    } else if (this.head >= 1_024 && this.head * 2 >= this.lines.length) {
      this.lines.splice(0, this.head);
      this.head = 0;
    }
    return line;
  }

  /** Sends full records, and a last short one when its lines have lingered enough (`all`). */
  private pump(all: boolean): void {
    if (this.scheduled && !this.scheduledSoon) clearTimeout(this.scheduled as NodeJS.Timeout);
    this.scheduled = undefined;
    while (
      this.recordsInFlight < this.maxInFlight &&
      (this.queued >= this.maxLinesPerRecord || (all && this.queued > 0))
    ) {
      const lines: string[] = [];
      while (lines.length < this.maxLinesPerRecord && this.queued > 0) {
        const line = this.take() ?? '';
        const asIs = lineAsIs(line);
        if (asIs !== undefined) {
          lines.push(asIs);
          continue;
        }
        try {
          const record = orderLogRecord(JSON.parse(line) as Record<string, unknown>);
          if (record) lines.push(encodeOrderLogLine(record));
        } catch {
          // Not JSON: not a line this sink can publish.
        }
      }
      if (lines.length > 0) this.send(lines);
    }
    if (this.queued > 0 && this.recordsInFlight < this.maxInFlight) this.schedule();
    if (this.queued === 0 && this.inFlight === 0) for (const waiter of [...this.idleWaiters]) waiter();
  }

  private send(lines: string[]): void {
    this.inFlight += lines.length;
    this.recordsInFlight += 1;
    let sending: Promise<unknown>;
    try {
      sending = this.options.publish(this.key, encodeOrderLogLines(lines));
    } catch (error) {
      sending = Promise.reject(error);
    }
    sending
      .then(
        () => {
          this.counts.published += lines.length;
        },
        (error: unknown) => {
          this.counts.failed += lines.length;
          this.unreported.failed += lines.length;
          this.lastError = error instanceof Error ? error.message : String(error);
          this.maybeWarn();
        },
      )
      .finally(() => {
        this.inFlight -= lines.length;
        this.recordsInFlight -= 1;
        if (this.queued > 0) this.schedule();
        else if (this.inFlight === 0) for (const waiter of [...this.idleWaiters]) waiter();
      });
  }

  private maybeWarn(): void {
    if (this.now() - this.lastWarnAt >= this.warnEveryMs) this.warn();
  }

  private warn(): void {
    this.lastWarnAt = this.now();
    const { dropped, failed } = this.unreported;
    this.unreported.dropped = 0;
    this.unreported.failed = 0;
    try {
      this.options.warn(
        { dropped, failed, queued: this.queued, ...(this.lastError ? { lastError: this.lastError } : {}) },
        'order log lines were not published to the log topic; the web app will miss them',
      );
    } catch {
      // A broken console must not break logging.
    }
  }
}
