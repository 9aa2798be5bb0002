/**
 * Notices when `pizza-status` stays silent while orders wait for it: the sign of
 * a Flink statement that is not running (never started, failed, or stopped when
 * a Confluent Cloud compute pool was deleted). It only decides; the status role
 * supplies the facts and logs.
 */
export class FlinkSilence {
  private lastArrivalAt: number;
  private waitingSince: number | undefined;
  private warned = false;

  /**
   * @param now when the role started reading, on the role's monotonic clock (every `now` here is)
   * @param seenSeq the orders view's change sequence at that moment
   * @param quietMs how long the topic may be silent while orders wait
   */
  constructor(
    now: number,
    public seenSeq: number,
    private readonly quietMs: number,
  ) {
    this.lastArrivalAt = now;
  }

  /** A record arrived; `seq` is the view's change sequence after applying it. */
  arrived(now: number, seq: number): void {
    this.lastArrivalAt = now;
    this.seenSeq = seq;
    this.waitingSince = undefined;
    this.warned = false; // warn again if it goes silent again later
  }

  /**
   * `waiting`: some order changed in the view since the last arrival (placed by
   * the web app, or flagged by the watchdog) and is not complete. Returns true
   * exactly once per silence: when it is time to warn.
   */
  check(now: number, waiting: boolean): boolean {
    if (!waiting) {
      this.waitingSince = undefined;
      return false;
    }
    this.waitingSince ??= now;
    if (this.warned || now - this.waitingSince < this.quietMs || now - this.lastArrivalAt < this.quietMs) return false;
    this.warned = true;
    return true;
  }
}

/**
 * How long each open order has shown the same change, measured on the status
 * role's monotonic clock from the watchdog's first look at that change. The
 * rows' own times come from whichever process wrote them (the web app writes
 * an order's first status) by its wall clock: a host whose clock is minutes
 * off, or is set while orders wait, would make the watchdog flag orders that
 * are moving. A change is seen up to one watchdog interval late, so an order
 * is flagged up to one interval later than by its row's time; never earlier.
 */
export class OrderStalls {
  /** Open orders at the last look: the change each showed, and since when (monotonic ms). */
  private seen = new Map<string, { seq: number; since: number }>();

  /**
   * One watchdog look at `now` (monotonic ms): `look` is asked with
   * `unchangedFor(orderId, seq)` for every open order, and returns the ids it
   * flagged. Orders not asked about (complete, flagged, purged) are forgotten.
   */
  sweep(now: number, look: (unchangedFor: (orderId: string, seq: number) => number) => string[]): string[] {
    const next = new Map<string, { seq: number; since: number }>();
    const flagged = look((orderId, seq) => {
      const previous = this.seen.get(orderId);
      const since = previous?.seq === seq ? previous.since : now;
      next.set(orderId, { seq, since });
      return now - since;
    });
    for (const orderId of flagged) next.delete(orderId);
    this.seen = next;
    return flagged;
  }
}
