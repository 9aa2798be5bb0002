import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { ShopMetrics } from '../../src/adapters/metrics/shop-metrics.js';
import type { Role } from '../../src/roles/role.js';
import { ShopStores } from '../../src/roles/shop-stores.js';
import { createStatusRole } from '../../src/roles/status.js';
import { FlinkSilence } from '../../src/roles/status-silence.js';
import { capturingLogs } from '../support/capture-logs.js';
import { FakeClock } from '../support/fake-clock.js';
import { testSettings } from '../support/settings.js';
import { placeOrder, viewStatus, waitFor } from '../support/shop.js';

/** A value framed as Schema Registry does (0x00, schema id, payload), with an Avro-looking payload. */
function avroFramedValue(schemaId: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, Buffer.from([0x02, 0x90, 0x03, 0x02, 0x80])]);
}

describe('the status role reading pizza-status', () => {
  const running: Array<{ role: Role; bus: EmbeddedBus; cleanup(): void }> = [];
  afterEach(async () => {
    for (const { role, bus, cleanup } of running.splice(0)) {
      await role.stop();
      await bus.close();
      cleanup();
    }
  });

  async function start(options: Parameters<typeof createStatusRole>[1] = {}) {
    const fixture = testSettings({ statusSource: 'pizza-status' });
    const { settings } = fixture;
    const bus = new EmbeddedBus({ partitions: 1 });
    const logs = capturingLogs();
    const clock = new FakeClock(Date.now());
    const stores = new ShopStores(settings);
    const role = createStatusRole(
      { bus, settings, clock, log: logs.forRole('status'), metrics: new ShopMetrics(), stores },
      options,
    );
    running.push({
      role,
      bus,
      cleanup: () => {
        stores.close();
        fixture.cleanup();
      },
    });
    await role.start();
    return { settings, bus, logs, clock };
  }

  it('logs an undecodable record once with its fix, skips it, and goes on with the next', async () => {
    const { settings, bus, logs } = await start();
    const order = await placeOrder(bus, settings);
    for (let copy = 0; copy < 3; copy++)
      await bus.publish(settings.topics.status, order.orderId, avroFramedValue(100_007));
    const json = JSON.stringify({ orderid: order.orderId, status: 200, timestamp: Date.now() + 1 });
    await bus.publish(settings.topics.status, order.orderId, Buffer.from(json));

    await waitFor(() => viewStatus(settings, order.orderId) === 200, 'the readable record applied');
    const errors = logs.lines.filter((line) => line.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toContain('schema id 100007, but no [schema-registry] section is configured');
  });

  it('applies a json-registry record and passes over a tombstone', async () => {
    const { settings, bus, logs } = await start();
    const order = await placeOrder(bus, settings);
    const header = Buffer.from([0, 0, 1, 0x86, 0xa1]);
    const payload = JSON.stringify({ orderid: order.orderId, status: 999, timestamp: Date.now() + 1 });
    await bus.publish(settings.topics.status, order.orderId, Buffer.concat([header, Buffer.from(payload)]));
    await waitFor(() => viewStatus(settings, order.orderId) === 999, 'the order delivered');
    expect(logs.lines.filter((line) => Number(line.level) >= 40)).toEqual([]);
  });

  it('warns, naming --status-source topics, when orders wait and pizza-status stays silent', async () => {
    const { settings, bus, logs, clock } = await start({ flinkQuietMs: 30_000, silenceCheckMs: 10 });
    await placeOrder(bus, settings); // nothing will write pizza-status for it
    const warning = () =>
      logs.lines.find((line) => line.level === 40 && String(line.msg).includes('--status-source topics'));
    // The monitor notices the waiting order first, then the quiet period passes.
    await vi.waitFor(
      async () => {
        await clock.advance(5_000);
        expect(warning(), 'the silence warning').toBeDefined();
      },
      { timeout: 30_000, interval: 25 },
    );
    expect(warning()?.msg).toContain(`nothing has arrived on ${settings.topics.status}`);
    expect(warning()?.msg).toContain('the Flink statement that writes it may not be running');
  });
});

describe('FlinkSilence', () => {
  const QUIET = 30_000;

  it('warns once per silence, only while some order waits', () => {
    const silence = new FlinkSilence(0, 0, QUIET);
    expect(silence.check(40_000, false)).toBe(false); // nothing waiting: silence is fine
    expect(silence.check(41_000, true)).toBe(false); // an order starts waiting now
    expect(silence.check(70_000, true)).toBe(false); // waiting 29 s
    expect(silence.check(71_000, true)).toBe(true); // waiting 30 s, topic silent for 71 s
    expect(silence.check(90_000, true)).toBe(false); // said once
    silence.arrived(95_000, 7);
    expect(silence.seenSeq).toBe(7);
    expect(silence.check(96_000, true)).toBe(false);
    expect(silence.check(130_000, true)).toBe(true); // a new silence is reported again
  });

  it('does not warn while records keep arriving', () => {
    const silence = new FlinkSilence(0, 0, QUIET);
    for (let now = 1_000; now < 120_000; now += 10_000) {
      silence.arrived(now, now);
      expect(silence.check(now + 5_000, true)).toBe(false);
    }
  });
});
