import { encodeOrderLogValue, orderLogRecord } from './order-log-line.js';

/** Publishes one line about one order; resolves once the broker has it. */
export type OrderLogPublish = (orderId: string, value: Buffer) => Promise<unknown>;

export interface OrderLogSinkOptions {
  publish: OrderLogPublish;
  /** Where the sink's own troubles go: the console only, never a logger that feeds this sink. */
  warn(fields: Record<string, unknown>, message: string): void;
  /** Lines waiting to be published; beyond it new lines are dropped and counted. */
  capacity?: number;
  /** Publishes awaiting their delivery report at once (librdkafka batches them). */
  maxInFlight?: number;
  /** At most one warning this often, however much is dropped. */
  warnEveryMs?: number;
  now?: () => number;
  /** Runs once when `close` starts, to stop feeding the sink. */
  onClose?: () => void;
}

export interface OrderLogSinkStats {
  queued: number;
  inFlight: number;
  published: number;
  /** Lines the full queue (or a closed sink) turned away. */
  dropped: number;
  /** Lines the bus refused or gave up on. */
  failed: number;
}

export const ORDER_LOG_QUEUE_CAPACITY = 10_000;
const MAX_IN_FLIGHT = 512;
const WARN_EVERY_MS = 60_000;
/** A line has an order id at its top level; the cheap look comes before parsing. */
const ORDER_ID_NEEDLE = '"orderId":"';

/**
 * Takes the roles' log lines about orders and publishes them to the log topic,
 * off the critical path: `write` only queues, and the queue drains through the
 * bus later. The queue and the publishes in flight are bounded, so a broker
 * outage costs at most their memory: what does not fit is dropped and counted.
 */
export class OrderLogSink {
  private readonly lines: string[] = [];
  private head = 0;
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private readonly counts = { published: 0, dropped: 0, failed: 0 };
  /** Dropped or failed since the last warning, for the next one. */
  private readonly unreported = { dropped: 0, failed: 0 };
  private lastWarnAt = Number.NEGATIVE_INFINITY;
  private lastError = '';
  private readonly idleWaiters = new Set<() => void>();
  private readonly capacity: number;
  private readonly maxInFlight: number;
  private readonly warnEveryMs: number;
  private readonly now: () => number;

  constructor(private readonly options: OrderLogSinkOptions) {
    this.capacity = options.capacity ?? ORDER_LOG_QUEUE_CAPACITY;
    this.maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT;
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

  /** Drains on a later turn, so the line's parsing and publishing never run inside the log call. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.pump());
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

  private pump(): void {
    this.scheduled = false;
    while (this.inFlight < this.maxInFlight && this.queued > 0) {
      const text = this.take();
      let record: ReturnType<typeof orderLogRecord>;
      try {
        record = orderLogRecord(JSON.parse(text ?? '') as Record<string, unknown>);
      } catch {
        continue; // Not JSON: not a line this sink can publish.
      }
      if (!record) continue;
      this.inFlight += 1;
      let sending: Promise<unknown>;
      try {
        sending = this.options.publish(record.orderId, encodeOrderLogValue(record.value));
      } catch (error) {
        sending = Promise.reject(error);
      }
      sending
        .then(
          () => {
            this.counts.published += 1;
          },
          (error: unknown) => {
            this.counts.failed += 1;
            this.unreported.failed += 1;
            this.lastError = error instanceof Error ? error.message : String(error);
            this.maybeWarn();
          },
        )
        .finally(() => {
          this.inFlight -= 1;
          if (this.queued > 0) this.schedule();
          else if (this.inFlight === 0) for (const waiter of [...this.idleWaiters]) waiter();
        });
    }
    if (this.queued === 0 && this.inFlight === 0) for (const waiter of [...this.idleWaiters]) waiter();
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
