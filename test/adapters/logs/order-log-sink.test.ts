import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { OrderLogSink } from '../../../src/adapters/logs/order-log-sink.js';
import { FakeClock } from '../../support/fake-clock.js';

const line = (orderId: string, msg: string, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({ level: 30, time: 1_700_000_000_000, role: 'bake', orderId, msg, ...extra })}\n`;
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A publish that never answers, as during a broker outage; `release` answers them all. */
function stuckBus() {
  const waiting: Array<() => void> = [];
  const sent: Array<{ key: string; lines: Array<Record<string, unknown>> }> = [];
  let back = false;
  return {
    sent,
    /** Every line sent, in order, whatever record carried it. */
    lines: () => sent.flatMap((record) => record.lines),
    publish: (key: string, value: Buffer) => {
      sent.push({
        key,
        lines: (JSON.parse(value.toString('utf8')) as { lines: Array<Record<string, unknown>> }).lines,
      });
      return back ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve));
    },
    /** The broker is back: what waits is delivered, and so is everything after. */
    release: () => {
      back = true;
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

describe('the order log sink', () => {
  it('drops and counts what does not fit while the broker is away, without blocking, and warns once a minute', async () => {
    const bus = stuckBus();
    const warnings: Array<Record<string, unknown>> = [];
    const clock = new FakeClock(0);
    const sink = new OrderLogSink({
      publish: bus.publish,
      warn: (fields) => warnings.push(fields),
      capacity: 5,
      // A record per line, sent at once: the bounds are what this test is about.
      maxInFlight: 2,
      maxLinesPerRecord: 1,
      lingerMs: 0,
      now: () => clock.now(),
    });

    for (let i = 0; i < 20; i += 1) sink.write(line('0000abcd', `line ${i}`));
    await turn();
    // Five fitted the queue, two of them are with the broker: the other fifteen were dropped.
    expect(sink.stats()).toEqual({ queued: 3, inFlight: 2, published: 0, dropped: 15, failed: 0 });
    expect(warnings).toEqual([{ dropped: 1, failed: 0, queued: 5 }]);

    for (let i = 0; i < 100; i += 1) sink.write(line('0000abcd', 'more'));
    expect(sink.stats().dropped).toBe(113);
    expect(sink.stats().queued).toBe(5);
    expect(warnings).toHaveLength(1);

    await clock.advance(60_000);
    sink.write(line('0000abcd', 'a minute later'));
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatchObject({ dropped: 113 });

    bus.release();
    await sink.close(1_000);
    expect(sink.stats()).toEqual({ queued: 0, inFlight: 0, published: 7, dropped: 114, failed: 0 });
    expect(bus.lines().map((sent) => sent.msg)).toEqual([
      'line 0',
      'line 1',
      'line 2',
      'line 3',
      'line 4',
      'more',
      'more',
    ]);
  });

  it('counts a publish the bus refuses, and keeps publishing the lines after it', async () => {
    let calls = 0;
    const warnings: Array<Record<string, unknown>> = [];
    const sink = new OrderLogSink({
      publish: async () => {
        calls += 1;
        if (calls === 1) throw new Error('broker down');
      },
      warn: (fields) => warnings.push(fields),
      maxLinesPerRecord: 1,
    });
    sink.write(line('0000abcd', 'refused'));
    sink.write(line('0000abcd', 'accepted'));
    await sink.close();
    expect(sink.stats()).toMatchObject({ published: 1, failed: 1, dropped: 0 });
    expect(warnings[0]).toMatchObject({ failed: 1, lastError: 'broker down' });
  });

  it('publishes only lines about an order: not below info, not about the log topic itself', async () => {
    const bus = stuckBus();
    const sink = new OrderLogSink({ publish: bus.publish, warn: () => {} });
    sink.write(`${JSON.stringify({ level: 30, time: 1, role: 'bake', msg: 'no order' })}\n`);
    sink.write(line('0000abcd', 'debug', { level: 20 }));
    sink.write(line('0000abcd', 'reading the log topic', { component: 'order-logs' }));
    sink.write(line('not-an-order-id', 'bad id'));
    sink.write(line('0000abcd', 'kept'));
    bus.release();
    await sink.close();
    expect(bus.lines()).toEqual([
      { orderId: '0000abcd', time: 1_700_000_000_000, level: 30, role: 'bake', msg: 'kept' },
    ]);
  });

  it('sends compact values: an error keeps its message but never its stack, long fields are cut', async () => {
    const bus = stuckBus();
    const sink = new OrderLogSink({ publish: bus.publish, warn: () => {} });
    const err = { type: 'Error', message: 'oven on fire', stack: 'Error: oven on fire\n    at /srv/pizza/bake.js:1:1' };
    sink.write(
      line('0000abcd', 'failed', { level: 50, err, bakingSeconds: 12, note: 'x'.repeat(1_000), pid: 1, hostname: 'h' }),
    );
    bus.release();
    await sink.close();
    const value = bus.lines()[0] as Record<string, unknown>;
    expect(value).toMatchObject({ level: 50, role: 'bake', msg: 'failed', err: 'oven on fire', bakingSeconds: 12 });
    expect(JSON.stringify(value)).not.toContain('/srv/pizza');
    expect(String(value.note).length).toBeLessThanOrEqual(200);
    expect(value).not.toHaveProperty('pid');
    expect(value).not.toHaveProperty('hostname');
    expect(value.orderId).toBe('0000abcd');
  });

  it('drops what is still queued when closing takes longer than its grace, and takes no more lines', async () => {
    const bus = stuckBus();
    const sink = new OrderLogSink({
      publish: bus.publish,
      warn: () => {},
      maxInFlight: 1,
      maxLinesPerRecord: 1,
      lingerMs: 0,
    });
    sink.write(line('0000abcd', 'one'));
    sink.write(line('0000abcd', 'two'));
    await turn();
    const stats = await sink.close(50);
    expect(stats).toMatchObject({ queued: 0, inFlight: 1, dropped: 1 });
    sink.write(line('0000abcd', 'after close'));
    expect(sink.stats().dropped).toBe(2);
    bus.release();
  });

  it('sends the lines that arrive together in one record, of any orders, under the sink key', async () => {
    // The linger is a timer: the test moves time past it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const bus = stuckBus();
    bus.release();
    const sink = new OrderLogSink({
      publish: bus.publish,
      warn: () => {},
      key: 'host-a.42',
      maxLinesPerRecord: 3,
      lingerMs: 20,
    });
    for (const [orderId, msg] of [
      ['0000abcd', 'one'],
      ['0000ef01', 'two'],
      ['0000abcd', 'three'],
      ['0000ef01', 'four'],
    ] as const)
      sink.write(line(orderId, msg));
    await turn();
    // Three lines fill a record at once; the fourth waits for its linger.
    expect(bus.sent.map((record) => record.lines.map((sent) => sent.msg))).toEqual([['one', 'two', 'three']]);
    await vi.advanceTimersByTimeAsync(19);
    expect(bus.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(bus.sent.map((record) => record.lines.map((sent) => `${sent.orderId} ${sent.msg}`))).toEqual([
      ['0000abcd one', '0000ef01 two', '0000abcd three'],
      ['0000ef01 four'],
    ]);
    expect(new Set(bus.sent.map((record) => record.key))).toEqual(new Set(['host-a.42']));
    expect(await sink.close()).toMatchObject({ published: 4, queued: 0, inFlight: 0 });
  });
});
