import type { Logger } from 'pino';
import type { Connectivity } from '../bus/bus.js';

export interface BrokerWatchOptions {
  log: Logger;
  /** Asks the cluster something cheap; rejects when it cannot be reached. */
  probe?: () => Promise<unknown>;
  now?: () => number;
  /** While the broker is away, how often to check whether it is back. */
  probeIntervalMs?: number;
  /** While the broker is away, how often to say so. */
  summaryIntervalMs?: number;
}

// What librdkafka says when a connection to the cluster breaks or cannot be made.
const TROUBLE =
  /connect to .* failed|brokers? (are|is) down|all brokers? down|connection refused|disconnected|transport failure|timed out/i;

/**
 * Knows whether the cluster can be reached, and keeps an outage to three kinds
 * of log line: one when it starts, a summary every `summaryIntervalMs`, and one
 * when it ends with how long it lasted. librdkafka's own lines during the
 * outage, and while a probe confirms it, are counted, not printed. A complaint
 * alone does not start an outage (an idle connection closing looks the same):
 * a failed probe does.
 */
export class BrokerWatch {
  private up = true;
  private since: number;
  private outages = 0;
  private suppressed = 0;
  private lastDetail = '';
  private probing: Promise<void> | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private summaryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  probe: (() => Promise<unknown>) | undefined;

  constructor(private readonly options: BrokerWatchOptions) {
    this.since = this.now();
    this.probe = options.probe;
  }

  state(): Connectivity {
    return { up: this.up, since: this.since, outages: this.outages };
  }

  /**
   * A warning or error from librdkafka. Returns true when it belongs to an
   * outage, or to one being confirmed (a probe is out), so the caller should
   * not print it: the watch counts it for its own lines. The first sign of
   * trouble is printed, and starts the probe.
   */
  complaint(message: string): boolean {
    if (this.troubled()) {
      this.suppressed += 1;
      this.lastDetail = message;
      return true;
    }
    if (TROUBLE.test(message)) {
      this.lastDetail = message;
      this.suppressed = 0;
      this.check();
    }
    return false;
  }

  /** Any other client line (info): true, and counted, when it belongs to an outage or one being confirmed. */
  aside(): boolean {
    if (!this.troubled()) return false;
    this.suppressed += 1;
    return true;
  }

  /** Something reached the cluster (a commit, a delivery report): it is up. */
  reachable(): void {
    if (!this.up) this.recovered();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.probeTimer);
    clearInterval(this.summaryTimer);
  }

  private check(): void {
    if (this.probing || this.closed || !this.probe) return;
    const probe = this.probe;
    this.probing = probe()
      .then(
        () => this.reachable(),
        () => this.wentDown(),
      )
      .finally(() => {
        this.probing = undefined;
      });
  }

  private troubled(): boolean {
    return !this.up || this.probing !== undefined;
  }

  private wentDown(): void {
    if (this.closed) return;
    if (this.up) {
      this.up = false;
      this.outages += 1;
      this.since = this.now();
      // The client's lines since the first sign of trouble, while the probe was out.
      const confirming = this.suppressed;
      this.suppressed = 0;
      this.options.log.warn(
        { detail: cleanDetail(this.lastDetail), messagesSuppressed: confirming },
        'Kafka is unreachable: work waits for it, nothing is dropped. Reporting progress every ' +
          `${Math.round(this.summaryMs / 1000)} s until it is back.`,
      );
      this.summaryTimer = setInterval(() => {
        this.options.log.warn(
          {
            downSeconds: Math.round((this.now() - this.since) / 1000),
            messagesSuppressed: this.suppressed,
            detail: cleanDetail(this.lastDetail),
          },
          'Kafka is still unreachable',
        );
        this.suppressed = 0;
      }, this.summaryMs);
      this.summaryTimer.unref();
    }
    this.probeTimer = setTimeout(() => this.check(), this.options.probeIntervalMs ?? 2_000);
    this.probeTimer.unref();
  }

  private recovered(): void {
    const downMs = this.now() - this.since;
    this.up = true;
    this.since = this.now();
    clearInterval(this.summaryTimer);
    clearTimeout(this.probeTimer);
    this.options.log.warn(
      { downSeconds: Math.round(downMs / 100) / 10, messagesSuppressed: this.suppressed },
      `Kafka is reachable again after ${Math.round(downMs / 1000)} s`,
    );
  }

  private get summaryMs(): number {
    return this.options.summaryIntervalMs ?? 30_000;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function cleanDetail(detail: string): string {
  return detail.replace(/^\[thrd:[^\]]*\]:\s*/, '').slice(0, 300);
}
