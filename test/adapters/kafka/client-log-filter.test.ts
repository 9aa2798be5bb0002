import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClientLogFilter, clientLogger, clientLogKind } from '../../../src/adapters/kafka/client-log-filter.js';
import { BrokerWatch } from '../../../src/adapters/kafka/connectivity.js';
import { capturingLogs } from '../../support/capture-logs.js';
import { FakeClock } from '../../support/fake-clock.js';

// What librdkafka said, word for word, in the broker-kill trial (issue 20): each client of a
// process, and each of its broker threads, says the same few things on every retry.
const CONNECT_REFUSED = [
  '[thrd:127.0.0.1:24349/1]: 127.0.0.1:24349/1: Connect to ipv4#127.0.0.1:24349 failed: Connection refused (after 0ms in state CONNECT)',
  '[thrd:127.0.0.1:24349/bootstrap]: 127.0.0.1:24349/bootstrap: Connect to ipv4#127.0.0.1:24349 failed: Connection refused (after 1ms in state CONNECT, 1 identical error(s) suppressed)',
  '[thrd:GroupCoordinator]: GroupCoordinator: 127.0.0.1:24349: Connect to ipv4#127.0.0.1:24349 failed: Connection refused (after 0ms in state CONNECT)',
];
const ALL_DOWN = 'Error: all broker connections are down';
const TRANSPORT = 'Error: broker transport failure';

/** Feeds lines one `stepMs` apart and returns the verdicts of those written, with their times. */
async function feed(filter: ClientLogFilter, clock: FakeClock, lines: string[], stepMs: number) {
  const written: Array<{ line: string; at: number; folded: number }> = [];
  for (const line of lines) {
    const verdict = filter.admit(line);
    if (verdict.write) written.push({ line, at: clock.now(), folded: verdict.folded });
    await clock.advance(stepMs);
  }
  return written;
}

describe('client log filter: librdkafka repeats itself, the log does not', () => {
  it('takes one kind of line from every thread and broker alike', () => {
    const kinds = new Set(CONNECT_REFUSED.map(clientLogKind));
    expect([...kinds]).toEqual(['Connect to ipvN#N.N.N.N:N failed: Connection refused']);
    expect(clientLogKind(ALL_DOWN)).not.toBe(clientLogKind(TRANSPORT));
  });

  it('writes the first of each kind and folds its repeats for a minute', async () => {
    const clock = new FakeClock();
    const filter = new ClientLogFilter({ now: () => clock.now(), budget: 10, windowMs: 60_000 });
    // The burst of the first seconds of an outage: 60 lines in 3 s.
    const burst = Array.from({ length: 20 }, () => [...CONNECT_REFUSED.slice(0, 1), ALL_DOWN, TRANSPORT]).flat();
    const written = await feed(filter, clock, burst, 50);
    expect(written.map((entry) => entry.line)).toEqual([CONNECT_REFUSED[0], ALL_DOWN, TRANSPORT]);

    // A minute after it was written, a kind may be written again, with the count held back meanwhile.
    await clock.advance(60_000);
    const again = filter.admit(ALL_DOWN);
    expect(again).toEqual({ write: true, folded: 57 });
  });

  it('writes no more than its budget per window, whatever the client says', async () => {
    const clock = new FakeClock();
    const filter = new ClientLogFilter({ now: () => clock.now(), budget: 3, windowMs: 60_000 });
    // Every line different (a client that numbers its retries in words, say): only the budget goes out.
    const chatter = Array.from({ length: 600 }, (_, index) => `retry ${'x'.repeat(index % 50)} ${index}`);
    const written = await feed(filter, clock, chatter, 500);
    // 600 lines over 300 s: 3 per 60 s window, 15 in all.
    expect(written).toHaveLength(15);
    for (const [index, entry] of written.entries()) {
      const window = written.filter((other) => other.at > entry.at - 60_000 && other.at <= entry.at);
      expect(window.length, `lines in the minute up to line ${index}`).toBeLessThanOrEqual(3);
    }
    // Nothing vanishes: every line held back is counted on the next line written.
    const lastIndex = ((written.at(-1)?.at ?? 0) - (written[0]?.at ?? 0)) / 500;
    expect(written.reduce((sum, entry) => sum + entry.folded, 0) + written.length).toBe(lastIndex + 1);
  });

  it('lets through what the client says now and then, every time', async () => {
    const clock = new FakeClock();
    const filter = new ClientLogFilter({ now: () => clock.now() });
    const written = await feed(filter, clock, [TRANSPORT, ALL_DOWN, TRANSPORT, ALL_DOWN], 90_000);
    expect(written.map((entry) => entry.folded)).toEqual([0, 0, 0, 0]);
  });

  it('forgets kinds beyond the ones it keeps, oldest first, and stays within its budget', async () => {
    const clock = new FakeClock();
    const filter = new ClientLogFilter({ now: () => clock.now(), budget: 1_000, windowMs: 60_000 });
    // Kinds told apart by letters (digits are what the kind leaves out).
    const name = (index: number) =>
      [index % 26, Math.floor(index / 26) % 26, Math.floor(index / 676)]
        .map((n) => String.fromCharCode(97 + n))
        .join('');
    const many = Array.from({ length: 900 }, (_, index) => `topic t-${name(index)} is unknown`);
    const written = await feed(filter, clock, many, 1);
    expect(written).toHaveLength(900);
    // The newest kinds are still remembered: a repeat of one is folded. The oldest were let go.
    expect(filter.admit(many[899] as string)).toEqual({ write: false });
    expect(filter.admit(many[0] as string)).toMatchObject({ write: true });
  });
});

/**
 * A process's Kafka log as KafkaClients wires it, on fake time: the watch's
 * probe and summary timers on vitest's fake timers, and every `now` on the
 * fake clock, moved together.
 */
function kafkaLog() {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  const clock = new FakeClock();
  const logs = capturingLogs();
  const log = logs.forRole('kafka');
  const cluster = { up: true };
  const watch = new BrokerWatch({
    log,
    now: () => clock.now(),
    // As the bus's probe does: listTopics with a 3 s timeout.
    probe: () =>
      new Promise((resolve, reject) => {
        if (cluster.up) resolve([]);
        else setTimeout(() => reject(new Error('timed out')), 3_000);
      }),
  });
  const client = clientLogger({
    log: log.child({ component: 'librdkafka' }),
    watch,
    filter: new ClientLogFilter({ now: () => clock.now() }),
    ignore: () => false,
    onError: () => {},
  });
  const step = async (ms: number) => {
    await clock.advance(ms);
    await vi.advanceTimersByTimeAsync(ms);
  };
  /** The lines written at info and above (what a role's files hold), with their fake times. */
  const written: Array<{ at: number; msg: string; fields: Record<string, unknown> }> = [];
  const seen = { count: 0 };
  const collect = () => {
    for (const line of logs.lines.slice(seen.count)) {
      if ((line.level as number) >= 30) written.push({ at: clock.now(), msg: String(line.msg), fields: line });
    }
    seen.count = logs.lines.length;
  };
  return { clock, cluster, watch, client, step, written, collect };
}

/** The most lines written in any minute. */
function busiestMinute(written: Array<{ at: number }>): number {
  return Math.max(
    0,
    ...written.map((line) => written.filter((other) => other.at >= line.at && other.at < line.at + 60_000).length),
  );
}

describe('the Kafka client log through an outage: the role says it, the client does not repeat it', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps a 5-minute outage, with the client repeating itself 10 times a second, to a few lines a minute', async () => {
    const { cluster, watch, client, step, written, collect } = kafkaLog();
    cluster.up = false;
    // The trial's burst: every client and broker thread, every 50 ms, as the connections fail.
    for (let tick = 0; tick < 6_000; tick += 1) {
      client.error(CONNECT_REFUSED[tick % 3] as string);
      if (tick % 2 === 0) client.error(tick % 4 === 0 ? ALL_DOWN : TRANSPORT);
      if (tick % 1_000 === 100)
        client.info(
          "Received rebalance event with message: 'Local: Revoke partitions' and 4 partition(s), isLost: true",
        );
      await step(50);
      collect();
    }
    cluster.up = true;
    watch.reachable();
    collect();
    watch.close();

    const messages = written.map((line) => line.msg);
    expect(messages.filter((msg) => msg.startsWith('Kafka is unreachable'))).toHaveLength(1);
    // Confirmed by the probe's timeout, 3 s after the first sign.
    expect(messages.filter((msg) => msg.startsWith('Kafka is reachable again after 297 s'))).toHaveLength(1);
    // The first sign of trouble is the one client line; the rest were counted by the watch.
    expect(messages.filter((msg) => !msg.startsWith('Kafka is'))).toEqual([CONNECT_REFUSED[0]]);
    const unreachable = written.find((line) => line.msg.startsWith('Kafka is unreachable'));
    expect(unreachable?.fields.messagesSuppressed).toBeGreaterThan(50);
    expect(busiestMinute(written)).toBeLessThanOrEqual(4);
    // 9,000 client lines became a line at the start, ten summaries and a line at the end.
    expect(written.length).toBeLessThanOrEqual(13);
  });

  it('writes the first of each kind when the cluster answers all along (one broker of several away)', async () => {
    const { client, step, written, collect, watch } = kafkaLog();
    for (let tick = 0; tick < 2_400; tick += 1) {
      client.warn(
        `[thrd:b${tick % 3}:9092/${tick % 3}]: b${tick % 3}:9092/${tick % 3}: Connect to ipv4#10.0.0.${tick % 3}:9092 failed: Connection refused (after 0ms in state CONNECT)`,
      );
      // Once the probe has answered that the cluster is there.
      await step(25);
      client.info(
        "Received rebalance event with message: 'Local: Assign partitions' and 4 partition(s), isLost: false",
      );
      await step(25);
      collect();
    }
    watch.close();
    // Two minutes of it: each kind once a minute, and the folded count on the repeat.
    expect(written.map((line) => line.fields.clientLinesFolded ?? 0)).toEqual([0, 0, 2_398, 0]);
    expect(busiestMinute(written)).toBeLessThanOrEqual(3);
  });
});
