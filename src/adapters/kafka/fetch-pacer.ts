/**
 * The adaptive fetch wait. With `queued.min.messages` small librdkafka stops
 * fetching a partition while records wait in its local queue, so the consume
 * loop's pace sets the fetch pace: pulling again at once means a fetch per
 * record or two under load. The pacer tells the loop to hold its next pull for
 * a few ms, but only while records arrive fast; a lone record in a quiet shop
 * is pulled at once and waits for nothing.
 *
 * Both properties exist in the bundled librdkafka 2.15 (CONFIGURATION.md):
 * `queued.min.messages` (default 100000) and `fetch.queue.backoff.ms` (default
 * 1000: how long a partition's next fetch is postponed once its queue is over
 * the threshold). With 1 and 1 the consumer stopped fetching while records waited.
 *
 * Measured by scripts/bench-requests.ts (one broker, 4 partitions, steady flow;
 * a 2-core machine shared with other jobs, load average 8-13, so latencies are
 * noisy and only the request counts are firm):
 *   consumer                                   1,000/s: fetch/s  p50 ms   20/s: fetch/s  p50 ms
 *   today (eachMessage, defaults, 1 MiB queue)          599-609   5.7-6.0        19-20    5.5-6.4
 *   eachBatch, queued.min 1, backoff 1, no pacer        257-453   5.1-8.3        16-20    5.4-11
 *   same + a 5 ms hold per partition batch                   75   30                20    5.4
 *   same + this pacer (5 ms shared by the partitions)       184   12.9             19    8.7
 *   same, backoff 5 (hold per batch)                         55   35                19    6.1
 * Holding each partition's batch multiplies the hold by the partitions in one
 * fetch (p50 30 ms), hence the sharing. The defaults (5 ms, busy above 200/s)
 * keep a consumer near 200 fetches/s under load and hold nothing at 20/s.
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

/**
 * librdkafka settings for a paced consumer (the `[kafka]` section may override them).
 * - `queued.min.messages` 1 and `fetch.queue.backoff.ms` 1: a partition is fetched again
 *   only once its local queue is drained, and that is checked often, so the pacer's holds
 *   (not a fixed wait) decide how many records a fetch brings.
 * - `fetch.wait.max.ms` 25: a partition that still had records queued is left out of the
 *   next fetch request, and librdkafka keeps one fetch in flight per broker, so records
 *   arriving for it wait until that request ends. At the broker's 500 ms default that was
 *   the p99 at 200 orders/s (511 ms, against 73 ms at 25 ms, `npm run bench`). A quiet
 *   consumer then asks 40 times a second instead of twice.
 */
export const PACED_FETCH_SETTINGS = {
  'queued.min.messages': 1,
  'fetch.queue.backoff.ms': 1,
  'fetch.wait.max.ms': 25,
} as const;
