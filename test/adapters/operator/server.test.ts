import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedBus } from '../../../src/adapters/bus/embedded.js';
import { viaOperator } from '../../../src/cli/commands/dead-letters.js';
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

/** A JSON replay request, as pizza dead-letters --from sends it. */
function replayIds(url: string, ids: string[]): Promise<Response> {
  return fetch(`${url}/dead-letters/replay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ids }),
  });
}

/** A request with the headers fetch will not let a caller set (Host), over node:http. */
function raw(
  url: URL,
  method: string,
  path: string,
  body: string | undefined,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    sent.on('error', reject);
    sent.end(body);
  });
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
    const replay = await replayIds(url, [fromBake?.id ?? '']);
    expect(replay.status).toBe(200);
    expect(bus.records(settings.topics.assembled).length).toBe(before + 1);
    expect((await replayIds(url, ['9:9'])).status).toBe(404);
    expect((await replayIds(url, ['nonsense'])).status).toBe(400);
    // The route of before (ids in the query, no body) changes nothing.
    expect((await fetch(`${url}/dead-letters/replay?ids=${fromBake?.id}`, { method: 'POST' })).status).toBe(400);
    expect(bus.records(settings.topics.assembled).length).toBe(before + 1);

    // pizza dead-letters --from lists and replays through the same route.
    const viaCli = await viaOperator(url, [fromBake?.id ?? '']);
    expect(viaCli.replayed).toEqual([fromBake?.id]);
    expect(viaCli.entries.map((entry) => entry.id)).toContain(fromBake?.id);
    expect(bus.records(settings.topics.assembled).length).toBe(before + 2);
  });

  it('refuses a cross-origin page, a wrong Host and a body that is not JSON, and answers its own address (issue 21)', async () => {
    const { shop: running, bus, settings } = await shop();
    await bus.publish(
      settings.topics.assembled,
      '0badcafe',
      encodeEvent({ status: 200, baking_time: 3e7, timestamp: 1 }),
    );
    const url = new URL(running.operatorUrl ?? '');
    const letter = await vi.waitFor(
      async () => {
        const [first] = (await viaOperator(url.href, [])).entries;
        expect(first, 'a dead letter').toBeDefined();
        return first as { id: string };
      },
      { timeout: 10_000, interval: 50 },
    );
    const replays = () => bus.records(settings.topics.assembled).length;
    const before = replays();
    const body = JSON.stringify({ ids: [letter.id] });
    const json = { 'content-type': 'application/json' };

    // What a web page can send without asking: a text/plain POST, with its Origin.
    const crossOrigin = await raw(url, 'POST', '/dead-letters/replay', body, {
      'content-type': 'text/plain',
      origin: 'https://evil.example',
    });
    expect(crossOrigin.status).toBe(403);
    // An Origin alone is enough, even with a JSON body.
    expect((await raw(url, 'POST', '/dead-letters/replay', body, { ...json, origin: url.origin })).status).toBe(403);
    // A DNS-rebinding page: the operator's own IP and port, under the attacker's name.
    for (const host of [`evil.example:${url.port}`, `127.0.0.1:${Number(url.port) + 1}`, '127.0.0.1']) {
      expect((await raw(url, 'POST', '/dead-letters/replay', body, { ...json, host })).status, host).toBe(421);
      expect((await raw(url, 'GET', '/dead-letters', undefined, { host })).status, host).toBe(421);
    }
    // Same origin, but not JSON: text/plain and forms are refused.
    expect((await raw(url, 'POST', '/dead-letters/replay', body, { 'content-type': 'text/plain' })).status).toBe(415);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await raw(url, 'POST', '/dead-letters/replay', `ids=${letter.id}`, form)).status).toBe(415);
    expect(replays()).toBe(before);

    // Its own address, by the name it was bound to or a loopback alias, with the port it got (operator_port = 0).
    for (const host of [url.host, `localhost:${url.port}`]) {
      expect((await raw(url, 'GET', '/health', undefined, { host })).status, host).toBe(200);
    }
    expect((await raw(url, 'POST', '/dead-letters/replay', body, json)).status).toBe(200);
    expect(replays()).toBe(before + 1);
  });
});
