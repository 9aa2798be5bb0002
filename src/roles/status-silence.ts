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
   * @param now when the role started reading, epoch ms
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
