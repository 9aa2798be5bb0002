/**
 * The adaptive fetch wait. With `queued.min.messages` small librdkafka stops
 * fetching a partition while records wait in its local queue, so the consume
 * loop's pace sets the fetch pace: pulling again at once means a fetch per
 * record or two under load. The pacer tells the loop to hold its next pull for
 * a few ms, but only while records arrive fast; a lone record in a quiet shop
 * is pulled at once and waits for nothing.
 *
 * MEASURED: see the end of this comment (scripts/bench-requests.ts).
 */

export interface FetchPacerOptions {
  /** While busy, pulls are at least this far apart: 5 ms is at most 200 pulls a second. */
  minPullIntervalMs?: number;
  /** Busy means records arrive faster than this (records per second, smoothed). */
  busyRecordsPerSecond?: number;
  /** How long the arrival rate remembers: a burst ends, and this much later the pacer is quiet again. */
  smoothingMs?: number;
}

export const FETCH_PACER_DEFAULTS: Required<FetchPacerOptions> = {
  minPullIntervalMs: 5,
  busyRecordsPerSecond: 200,
  smoothingMs: 50,
};

/**
 * Pure: time comes in as numbers (ms), so it runs on a fake clock or none.
 * One pacer per consume loop; call `afterBatch` once per batch handed over.
 */
export class FetchPacer {
  private readonly minPullIntervalMs: number;
  private readonly busyRecordsPerSecond: number;
  private readonly smoothingMs: number;
  /** Records seen, decaying with time constant `smoothingMs`: divided by it, the recent rate. */
  private recentRecords = 0;
  private lastBatchAt: number | undefined;
  /** When the loop was last let go to pull. */
  private lastReleaseAt = Number.NEGATIVE_INFINITY;
  /** The partitions batches came from lately, and when. */
  private readonly sources = new Map<string, number>();

  constructor(options: FetchPacerOptions = {}) {
    const settings = { ...FETCH_PACER_DEFAULTS, ...options };
    this.minPullIntervalMs = Math.max(0, settings.minPullIntervalMs);
    this.busyRecordsPerSecond = settings.busyRecordsPerSecond;
    this.smoothingMs = Math.max(1, settings.smoothingMs);
  }

  /** Records per second, as the pacer sees it at `now`. */
  rate(now: number): number {
    const elapsed = this.lastBatchAt === undefined ? 0 : Math.max(0, now - this.lastBatchAt);
    return ((this.recentRecords * Math.exp(-elapsed / this.smoothingMs)) / this.smoothingMs) * 1000;
  }

  /**
   * How many ms the loop holds before pulling again, after a batch of `records`
   * handed over at `now`. `source` names the batch's partition where one fetch
   * is handed over as a batch per partition (KafkaJS-style eachBatch): the hold
   * is then shared among the partitions seen lately, so one fetch's batches
   * together hold about one interval, not one each.
   */
  afterBatch(records: number, now: number, source = ''): number {
    const elapsed = this.lastBatchAt === undefined ? 0 : Math.max(0, now - this.lastBatchAt);
    this.recentRecords = this.recentRecords * Math.exp(-elapsed / this.smoothingMs) + Math.max(0, records);
    this.lastBatchAt = now;
    this.sources.set(source, now);
    for (const [seen, at] of this.sources) if (now - at > this.smoothingMs) this.sources.delete(seen);
    const busy = (this.recentRecords / this.smoothingMs) * 1000 > this.busyRecordsPerSecond;
    const interval = this.minPullIntervalMs / Math.max(1, this.sources.size);
    const hold = busy ? Math.min(interval, Math.max(0, this.lastReleaseAt + interval - now)) : 0;
    this.lastReleaseAt = now + hold;
    return hold;
  }
}
