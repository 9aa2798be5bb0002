import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedBus } from '../../../src/adapters/bus/embedded.js';
import { encodeEvent } from '../../../src/domain/events.js';
import { type RunningShop, startShop } from '../../../src/roles/shop.js';
import { testSettings } from '../../support/settings.js';
import { placeOrder, silentLogs, viewStatus, waitFor } from '../../support/shop.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function shop(): Promise<{
  shop: RunningShop;
  bus: EmbeddedBus;
  settings: ReturnType<typeof testSettings>['settings'];
}> {
  const fixture = testSettings({ timeScale: '0' });
  cleanups.push(fixture.cleanup);
  const settings = fixture.settings;
  const bus = new EmbeddedBus({ partitions: 2, deadLetterTopic: settings.topics.deadLetter });
  cleanups.push(() => bus.close());
  const running = await startShop({
    settings,
    roles: ['assemble', 'bake', 'deliver', 'status'],
    logs: silentLogs(),
    bus,
  });
  cleanups.push(() => running.stop());
  return { shop: running, bus, settings };
}

describe('the operator address (metrics, probes, dead letters)', () => {
  it('serves per-role metrics, a liveness and a readiness probe on its own port', async () => {
    const { shop: running, bus, settings } = await shop();
    const order = await placeOrder(bus, settings);
    await waitFor(() => viewStatus(settings, order.orderId) === 999, 'delivered');
    const url = running.operatorUrl ?? '';
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/pizza_events_total\{role="bake",topic="[^"]+",outcome="handled"\} 1/);
    expect(metrics).toMatch(/pizza_handler_duration_seconds_count\{role="assemble",topic="[^"]+"\} 1/);
    expect(metrics).toMatch(/pizza_capacity\{role="bake"\} 8/);
    expect(metrics).toMatch(/pizza_in_flight\{role="bake"\} 0/);
    expect(metrics).toMatch(/pizza_orders\{status="delivered"\} 1/);
    expect(metrics).toMatch(/pizza_kafka_up 1/);
    // Every group of the shop, per topic and partition: nothing is left once the order is delivered.
    expect(metrics).toMatch(
      new RegExp(
        `pizza_consumer_lag\\{group="${settings.groupIds.bake}",topic="${settings.topics.assembled}",partition="\\d"\\} 0`,
      ),
    );

    expect((await fetch(`${url}/health`)).status).toBe(200);
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, problems: {} });
  });

  it('lists the dead letters of the embedded bus, and replays one to its source topic', async () => {
    const { shop: running, bus, settings } = await shop();
    await bus.publish(
      settings.topics.assembled,
      '0badcafe',
      encodeEvent({ status: 200, baking_time: 3e7, timestamp: 1 }),
    );
    const url = running.operatorUrl ?? '';
    type Entry = { id: string; role: string; reason: string; source: { topic: string } };
    const entries = await vi.waitFor(
      async () => {
        const listed = ((await (await fetch(`${url}/dead-letters`)).json()) as { entries: Entry[] }).entries;
        expect(listed, 'a dead letter listed at /dead-letters').not.toHaveLength(0);
        return listed;
      },
      { timeout: 10_000, interval: 50 },
    );
    const fromBake = entries.find((entry) => entry.role === 'bake');
    expect(fromBake).toMatchObject({ reason: 'bad-event', source: { topic: settings.topics.assembled } });

    const before = bus.records(settings.topics.assembled).length;
    const replay = await fetch(`${url}/dead-letters/replay?ids=${fromBake?.id}`, { method: 'POST' });
    expect(replay.status).toBe(200);
    expect(bus.records(settings.topics.assembled).length).toBe(before + 1);
    expect((await fetch(`${url}/dead-letters/replay?ids=9:9`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${url}/dead-letters/replay?ids=nonsense`, { method: 'POST' })).status).toBe(400);
  });
});
