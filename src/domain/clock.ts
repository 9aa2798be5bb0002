/**
 * Time, passed in rather than read from the process, so tests can run a
 * role's waits on a fake clock. Adapters (the web app's sessions, order
 * placement) and roles alike use it, so it lives at the bottom.
 */
export interface Clock {
  /** The wall clock, epoch ms: for timestamps that other processes and hosts read. */
  now(): number;
  /**
   * This process's monotonic clock, ms from an arbitrary start: for how long
   * something took or has waited here. It neither jumps when the wall clock is
   * set nor means anything to another process, so no other host's clock skews it.
   */
  monotonic(): number;
  /** Waits `ms`; rejects with an AbortError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (ms <= 0) return resolve();
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
