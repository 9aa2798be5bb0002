import type { Clock } from '../../src/domain/clock.js';

/** A sleep that has not come due yet. */
export interface PendingSleep {
  /** What the caller asked for. */
  readonly ms: number;
  /** The clock's time at which it comes due. */
  readonly dueAt: number;
}

interface Sleeper extends PendingSleep {
  /** Sleeps that come due at the same time wake in the order they were asked for. */
  readonly seq: number;
  wake(): void;
}

/** A fixed start, so the timestamps a handler writes can be checked as literals. */
export const FAKE_EPOCH = Date.UTC(2024, 0, 1, 12, 0, 0);

/**
 * A clock whose time moves only when the test says so. `sleep` waits until
 * `advance` (or `runUntilIdle`) carries the time past its due time, or until its
 * signal aborts, which rejects it with the signal's reason, as the system clock
 * does. Nothing here reads the real time.
 */
export class FakeClock implements Clock {
  private time: number;
  private sleepers: Sleeper[] = [];
  private nextSeq = 0;
  private watchers: Array<{ count: number; resolve(): void }> = [];

  constructor(start: number = FAKE_EPOCH) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** The same time: a fake clock neither skews nor jumps unless the test says so. */
  monotonic(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      // Like the system clock: nothing to wait for.
      if (ms <= 0) return resolve();
      const onAbort = () => {
        this.remove(sleeper);
        reject(signal?.reason);
      };
      const sleeper: Sleeper = {
        ms,
        dueAt: this.time + ms,
        seq: this.nextSeq++,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
      this.sleepers.sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
      this.notifyWatchers();
    });
  }

  /** The sleeps still waiting, soonest due first. */
  get sleeping(): readonly PendingSleep[] {
    return this.sleepers.map(({ ms, dueAt }) => ({ ms, dueAt }));
  }

  /** Resolves once at least `count` sleeps are waiting: a hook on the code under test, not a guess at its timing. */
  whenSleeping(count = 1): Promise<void> {
    if (this.sleepers.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ count, resolve }));
  }

  /**
   * Runs `work` and settles as it does, or rejects as soon as it starts a sleep:
   * for work that must not wait at all, which would otherwise hang until the
   * test timed out. A function, since work may sleep before it returns its promise.
   */
  async withoutSleeping<T>(work: () => Promise<T>): Promise<T> {
    let watcher: { count: number; resolve(): void } | undefined;
    const slept = new Promise<never>((_, reject) => {
      watcher = {
        count: this.sleepers.length + 1,
        resolve: () => reject(new Error('FakeClock: the work started sleeping when it should not wait at all')),
      };
      this.watchers.push(watcher);
    });
    try {
      return await Promise.race([work(), slept]);
    } finally {
      this.watchers = this.watchers.filter((waiting) => waiting !== watcher);
    }
  }

  /**
   * Moves the time forward by `ms`. Each sleep that comes due on the way wakes
   * at its own due time, soonest first, and what it sets off runs (its promise
   * continuations) before the next one wakes, so a sleep started on the way
   * that falls within `ms` wakes too.
   */
  async advance(ms: number): Promise<void> {
    if (ms < 0) throw new RangeError(`a clock does not go back (advance by ${ms} ms)`);
    const target = this.time + ms;
    for (let next = this.sleepers[0]; next && next.dueAt <= target; next = this.sleepers[0]) {
      this.time = next.dueAt;
      this.remove(next);
      next.wake();
      await settle();
    }
    this.time = target;
    await settle();
  }

  /**
   * Moves the time forward by `ms` as a process that was stopped (SIGSTOP) and
   * resumed sees it: nothing runs on the way, then every sleep that came due
   * wakes, soonest first, each one already seeing the time at the end.
   */
  async jump(ms: number): Promise<void> {
    if (ms < 0) throw new RangeError(`a clock does not go back (jump by ${ms} ms)`);
    this.time += ms;
    for (let next = this.sleepers[0]; next && next.dueAt <= this.time; next = this.sleepers[0]) {
      this.remove(next);
      next.wake();
      await settle();
    }
    await settle();
  }

  /**
   * Wakes sleeps, soonest first, moving the time to each one's due time, until
   * none is left. Gives up after `maxWakes` (work that sleeps forever in a loop).
   */
  async runUntilIdle(maxWakes = 1_000): Promise<void> {
    for (let wakes = 0; wakes < maxWakes; wakes += 1) {
      const next = this.sleepers[0];
      if (!next) return;
      await this.advance(next.dueAt - this.time);
    }
    throw new Error(`FakeClock.runUntilIdle: still sleeping after ${maxWakes} wakes`);
  }

  private remove(sleeper: Sleeper): void {
    const index = this.sleepers.indexOf(sleeper);
    if (index >= 0) this.sleepers.splice(index, 1);
  }

  private notifyWatchers(): void {
    const ready = this.watchers.filter((watcher) => this.sleepers.length >= watcher.count);
    this.watchers = this.watchers.filter((watcher) => this.sleepers.length < watcher.count);
    for (const watcher of ready) watcher.resolve();
  }
}

// Taken at load, so a test that fakes timers (vi.useFakeTimers) cannot stall the fake clock.
const realSetImmediate = globalThis.setImmediate;

/** Lets what a wake set off run, every promise continuation of it, up to its next wait. */
function settle(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}
