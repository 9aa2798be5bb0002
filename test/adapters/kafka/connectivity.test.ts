import { afterEach, describe, expect, it, vi } from 'vitest';
import { BrokerWatch } from '../../../src/adapters/kafka/connectivity.js';
import { watchdogMayFlag } from '../../../src/roles/status.js';
import { capturingLogs } from '../../support/capture-logs.js';

describe('broker watch: an outage in three kinds of line', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says once that Kafka went away, summarises, says once that it is back, and swallows the noise between', async () => {
    // The watch's probe and summary timers run on fake time, so each step below moves it by
    // exactly the time it names; `now` stays the watch's own clock, set by hand for the outage's length.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const logs = capturingLogs();
    const logger = logs.forRole('kafka');
    let reachable = true;
    let now = 1_000;
    const watch = new BrokerWatch({
      log: logger,
      now: () => now,
      probe: async () => {
        if (!reachable) throw new Error('refused');
      },
      probeIntervalMs: 10,
      summaryIntervalMs: 30,
    });
    // An idle connection closing while the broker is fine starts no outage.
    expect(watch.complaint('Disconnected (after 600000ms in state UP)')).toBe(false);
    await vi.advanceTimersByTimeAsync(20);
    expect(watch.state().up).toBe(true);

    reachable = false;
    watch.complaint('Connect to ipv4#127.0.0.1:9092 failed: Connection refused');
    await vi.advanceTimersByTimeAsync(20);
    expect(watch.state()).toMatchObject({ up: false, since: 1_000, outages: 1 });
    for (let i = 0; i < 500; i += 1) expect(watch.complaint('Connect to ipv4#127.0.0.1:9092 failed')).toBe(true);
    await vi.advanceTimersByTimeAsync(80);
    now = 16_000;
    reachable = true;
    await vi.advanceTimersByTimeAsync(40);
    watch.close();

    expect(watch.state()).toMatchObject({ up: true, since: 16_000, outages: 1 });
    const said = logs.lines.filter((line) => line.level !== 20).map((line) => line.msg as string);
    expect(said.filter((msg) => msg.startsWith('Kafka is unreachable'))).toHaveLength(1);
    expect(said.filter((msg) => msg.startsWith('Kafka is reachable again after 15 s'))).toHaveLength(1);
    const summaries = said.filter((msg) => msg === 'Kafka is still unreachable');
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    // 500 complaints became a handful of lines.
    expect(said.length).toBeLessThan(10);
  });

  it('keeps the watchdog from flagging orders while Kafka is away, and for a full timeout after', () => {
    const stuckAfterMs = 45_000;
    expect(watchdogMayFlag({ up: true, since: 0, outages: 0 }, 10_000, stuckAfterMs)).toBe(true);
    expect(watchdogMayFlag({ up: false, since: 5_000, outages: 1 }, 100_000, stuckAfterMs)).toBe(false);
    expect(watchdogMayFlag({ up: true, since: 60_000, outages: 1 }, 100_000, stuckAfterMs)).toBe(false);
    expect(watchdogMayFlag({ up: true, since: 60_000, outages: 1 }, 105_000, stuckAfterMs)).toBe(true);
  });
});
