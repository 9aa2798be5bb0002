import type { Clock } from './clock.js';

/** Waits between attempts: doubling from `initialMs`, never above `maxMs`. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** The wait after the `attempt`-th failure (1 for the first): the one back-off formula of the code base. */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const doublings = Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(policy.initialMs * 2 ** doublings, policy.maxMs);
}

/** Waits on the clock; false when `signal` aborted first (or had already). */
export async function pauseFor(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await clock.sleep(ms, signal);
    return true;
  } catch (err) {
    if (signal?.aborted) return false;
    throw err;
  }
}

export interface RetryOptions {
  backoff: BackoffPolicy;
  /** Asked before every attempt: true when the work no longer matters (stopping, superseded). */
  moot?: () => boolean;
  /** Ends the waiting between attempts at once. */
  signal?: AbortSignal;
  /** Hears each failure, before the wait that follows it. */
  onFailure?: (err: unknown, attempt: number) => void | Promise<void>;
}

/**
 * Runs `work` until it succeeds, waiting on the clock between failures.
 * Resolves undefined when the work became moot or the signal aborted: the
 * caller gave up on it, so there is nothing to report.
 */
export async function retryUntilDone<T>(
  clock: Clock,
  work: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    if (options.moot?.() || options.signal?.aborted) return undefined;
    try {
      return await work(attempt);
    } catch (err) {
      if (options.moot?.() || options.signal?.aborted) return undefined;
      await options.onFailure?.(err, attempt);
      if (!(await pauseFor(clock, backoffDelay(options.backoff, attempt), options.signal))) return undefined;
    }
  }
}
