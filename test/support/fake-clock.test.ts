import { describe, expect, it } from 'vitest';
import { FAKE_EPOCH, FakeClock } from './fake-clock.js';

/** Whether a promise has settled, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('the fake clock', () => {
  it('stands still until the test moves it', async () => {
    const clock = new FakeClock();
    expect(clock.now()).toBe(FAKE_EPOCH);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(clock.now()).toBe(FAKE_EPOCH);
    await clock.advance(1_500);
    expect(clock.now()).toBe(FAKE_EPOCH + 1_500);
    expect(new FakeClock(42).now()).toBe(42);
  });

  it('wakes a sleep when the time reaches its due time, not a millisecond before', async () => {
    const clock = new FakeClock(0);
    const sleep = clock.sleep(1_000);
    expect(clock.sleeping).toEqual([{ ms: 1_000, dueAt: 1_000 }]);
    await clock.advance(999);
    expect(await settled(sleep)).toBe(false);
    await clock.advance(1);
    expect(await settled(sleep)).toBe(true);
    expect(clock.sleeping).toEqual([]);
  });

  it('wakes due sleeps soonest first, each at its own time, ties in the order they were asked', async () => {
    const clock = new FakeClock(0);
    const woke: Array<[string, number]> = [];
    const nap = (name: string, ms: number) => clock.sleep(ms).then(() => woke.push([name, clock.now()]));
    const all = [nap('c', 300), nap('a', 100), nap('b', 200), nap('a2', 100), nap('late', 5_000)];
    await clock.advance(1_000);
    expect(woke).toEqual([
      ['a', 100],
      ['a2', 100],
      ['b', 200],
      ['c', 300],
    ]);
    expect(clock.now()).toBe(1_000);
    expect(clock.sleeping).toEqual([{ ms: 5_000, dueAt: 5_000 }]);
    await clock.runUntilIdle();
    await Promise.all(all);
    expect(woke.at(-1)).toEqual(['late', 5_000]);
  });

  it('also wakes a sleep started on the way that comes due within the advance', async () => {
    const clock = new FakeClock(0);
    const times: number[] = [];
    const work = (async () => {
      await clock.sleep(100);
      times.push(clock.now());
      await clock.sleep(100);
      times.push(clock.now());
      await clock.sleep(100);
      times.push(clock.now());
    })();
    await clock.advance(250);
    expect(times).toEqual([100, 200]);
    await clock.advance(50);
    await work;
    expect(times).toEqual([100, 200, 300]);
  });

  it("rejects with the signal's reason when the signal aborts, and forgets the sleep", async () => {
    const clock = new FakeClock(0);
    const controller = new AbortController();
    const reason = new Error('taken back');
    const sleep = clock.sleep(10_000, controller.signal);
    expect(clock.sleeping).toHaveLength(1);
    controller.abort(reason);
    await expect(sleep).rejects.toBe(reason);
    expect(clock.sleeping).toEqual([]);
    // Time moved on afterwards wakes nothing and throws nothing.
    await clock.advance(20_000);
  });

  it('rejects at once for a signal aborted already, and resolves at once for no time at all', async () => {
    const clock = new FakeClock(0);
    const reason = new Error('stopping');
    await expect(clock.sleep(1_000, AbortSignal.abort(reason))).rejects.toBe(reason);
    await expect(clock.sleep(0)).resolves.toBeUndefined();
    expect(clock.sleeping).toEqual([]);
  });

  it('says when work has started sleeping', async () => {
    const clock = new FakeClock(0);
    const two = clock.whenSleeping(2);
    void clock.sleep(10);
    expect(await settled(two)).toBe(false);
    void clock.sleep(20);
    expect(await settled(two)).toBe(true);
    await expect(clock.whenSleeping(1)).resolves.toBeUndefined();
  });

  it('tells work that finished without waiting from work that started sleeping', async () => {
    const clock = new FakeClock(0);
    await expect(clock.withoutSleeping(async () => 'done')).resolves.toBe('done');
    const failure = new Error('bad event');
    await expect(clock.withoutSleeping(() => Promise.reject(failure))).rejects.toBe(failure);
    // A sleep already waiting does not count; a new one does, even one started before the work returns.
    void clock.sleep(50);
    await expect(clock.withoutSleeping(() => clock.sleep(100))).rejects.toThrow(/started sleeping/);
    await expect(
      clock.withoutSleeping(async () => {
        await Promise.resolve();
        await clock.sleep(100);
      }),
    ).rejects.toThrow(/started sleeping/);
  });

  it('runs until idle, and gives up on work that sleeps forever', async () => {
    const clock = new FakeClock(0);
    let rounds = 0;
    const forever = async () => {
      for (;;) {
        await clock.sleep(1_000);
        rounds += 1;
      }
    };
    void forever();
    await expect(clock.runUntilIdle(10)).rejects.toThrow(/still sleeping after 10 wakes/);
    expect(rounds).toBe(10);
    expect(clock.now()).toBe(10_000);
  });

  it('jumps as a resumed process sees it: the due sleeps wake late, soonest first, at the new time', async () => {
    const clock = new FakeClock(0);
    const woke: Array<[string, number]> = [];
    const nap = (name: string, ms: number) => clock.sleep(ms).then(() => woke.push([name, clock.now()]));
    const all = [nap('b', 200), nap('a', 100), nap('late', 30_000)];
    await clock.jump(20_000);
    expect(woke).toEqual([
      ['a', 20_000],
      ['b', 20_000],
    ]);
    expect(clock.sleeping).toEqual([{ ms: 30_000, dueAt: 30_000 }]);
    await clock.runUntilIdle();
    await Promise.all(all);
  });

  it('never goes back', async () => {
    await expect(new FakeClock().advance(-1)).rejects.toThrow(RangeError);
    await expect(new FakeClock().jump(-1)).rejects.toThrow(RangeError);
  });
});
