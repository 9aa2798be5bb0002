import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedBus } from '../../../src/adapters/bus/embedded.js';
import { shopApp } from '../../../src/adapters/http/app.js';
import { proxyTrust } from '../../../src/adapters/http/plugins/security.js';
import { OrderLogStore } from '../../../src/adapters/sqlite/order-log-store.js';
import { OrdersStore } from '../../../src/adapters/sqlite/orders-store.js';
import { settingVariableName } from '../../../src/config/environment.js';
import { loadSettings } from '../../../src/config/settings.js';
import { systemClock } from '../../../src/domain/clock.js';
import { GOOD_PIZZA, startTestWeb, type TestWeb, WebClient } from './web-client.js';

let web: TestWeb;
beforeEach(async () => {
  web = await startTestWeb();
});
afterEach(async () => {
  await web.close();
});

async function placedOrder(client: WebClient): Promise<string> {
  await client.login('Ada');
  const response = await client.order(GOOD_PIZZA);
  return String(response.headers.location).split('/').pop() as string;
}

let nextOffset = 0;
/** A line as the projection stores it from the log topic, published by `role` on any host. */
function writeLogLine(role: string, line: { orderId: string; msg: string; [field: string]: unknown }): void {
  const { orderId, msg, ...fields } = line;
  web.orderLogs.append(
    orderId,
    { time: Date.now(), level: 30, role, msg, fields },
    { topic: web.settings.topics.logs, partition: 0, offset: String(nextOffset++) },
  );
}

interface SentEvent {
  event: string;
  data: unknown;
  id?: string | undefined;
}

/**
 * Reads server-sent events from a stream until `done` says stop; returns what came.
 * `react` sees the events so far after each one: what a test does once the page has
 * reached a point (its first state sent, say), instead of after a guessed delay.
 */
async function readEvents(
  response: Response,
  done: (events: SentEvent[]) => boolean,
  react: (events: SentEvent[]) => void = () => {},
): Promise<SentEvent[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: SentEvent[] = [];
  let buffer = '';
  while (!done(events)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    buffer += decoder.decode(value, { stream: true });
    let boundary = buffer.indexOf('\n\n');
    while (boundary >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      const id = /^id: (.*)$/m.exec(block)?.[1];
      if (event && data) {
        events.push({ event, data: JSON.parse(data), id });
        react(events);
      }
      boundary = buffer.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return events;
}

/** A `react` for readEvents that runs `action` once, the first time `reached` holds. */
function once(reached: (events: SentEvent[]) => boolean, action: () => void): (events: SentEvent[]) => void {
  let done = false;
  return (events) => {
    if (done || !reached(events)) return;
    done = true;
    action();
  };
}

const has = (name: string) => (events: SentEvent[]) => events.some((e) => e.event === name);

describe('web app: live updates, logs and timeline', () => {
  it('pushes status, timeline and log changes of an order over server-sent events', async () => {
    const client = new WebClient(web.app);
    const orderId = await placedOrder(client);
    const base = await web.app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${base}/orders/${orderId}/live?service=bake`, {
      headers: { cookie: client.cookieHeader() },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);

    const { statuses } = web.settings;
    // What the status role and the bake role would do, from "another host": the store and the log topic's copy,
    // once the page has its first state.
    const changeElsewhere = () => {
      web.store.recordEvent({
        orderId,
        topic: 'pizza-assembled',
        partition: 0,
        offset: '0',
        status: 200,
        eventTimestamp: Date.now(),
        receivedAt: Date.now(),
      });
      web.store.applyStatus(
        orderId,
        { status: statuses.ids.pizza_assembled, timestamp: Date.now() },
        statuses,
        Date.now(),
      );
      writeLogLine('bake', { orderId, msg: 'baking the pizza' });
    };
    const events = readEvents(
      response,
      (seen) =>
        seen.some((e) => e.event === 'logs' && JSON.stringify(e.data).includes('Baking your pizza')) &&
        seen.some((e) => e.event === 'status' && (e.data as { status: number }).status === 200),
      once(has('logs'), changeElsewhere),
    );
    const seen = await events;

    const status = seen.filter((e) => e.event === 'status').at(-1)?.data as { label: string; stage: string };
    expect(status).toMatchObject({ label: 'Your pizza is in the oven', stage: 'bake' });
    const timeline = seen.filter((e) => e.event === 'timeline').at(-1)?.data as Array<{
      topic: string;
      offset: string;
    }>;
    expect(timeline).toEqual([
      expect.objectContaining({ topic: 'pizza-assembled', partition: 0, offset: '0', status: 200 }),
    ]);
  });

  it("pushes status changes of the customer's own orders to My orders, and no one else's", async () => {
    const ada = new WebClient(web.app);
    const adas = await placedOrder(ada);
    const bob = new WebClient(web.app);
    const bobs = await placedOrder(bob);
    const base = await web.app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${base}/orders/live`, { headers: { cookie: ada.cookieHeader() } });

    const { statuses } = web.settings;
    const events = readEvents(
      response,
      (seen) =>
        seen.some((e) => e.event === 'status' && (e.data as { status: number }).status === statuses.ids.delivered),
      // Once the page has the current status of Ada's order.
      once(has('status'), () => {
        web.store.applyStatus(bobs, { status: statuses.ids.pizza_baked, timestamp: Date.now() }, statuses, Date.now());
        web.store.applyStatus(adas, { status: statuses.ids.delivered, timestamp: Date.now() }, statuses, Date.now());
      }),
    );
    const seen = (await events).filter((e) => e.event === 'status');
    // The current status of each of Ada's orders first, then what changes: Bob's order never.
    expect(seen.map((e) => (e.data as { orderId: string }).orderId)).toEqual([adas, adas]);
    expect(seen.at(-1)?.data).toMatchObject({ label: 'Your pizza was delivered', complete: true, tone: 'done' });
  });

  it("shows a service log line about the order as text, never as HTML, and no other order's lines", async () => {
    const client = new WebClient(web.app);
    const orderId = await placedOrder(client);
    writeLogLine('status', { orderId, msg: 'status: <script>alert("x")</script>', note: '<b>bold</b>' });
    writeLogLine('status', { orderId: 'ffffffff', msg: 'status: someone else' });

    for (const url of [`/orders/${orderId}/logs/status`, `/orders/${orderId}?service=status`]) {
      const body = (await client.get(url)).body;
      expect(body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
      expect(body).not.toContain('<script>alert');
      expect(body).not.toContain('bold');
      expect(body).not.toContain('someone else');
    }
  });

  it('answers 404 for the logs of a service that does not exist', async () => {
    const client = new WebClient(web.app);
    const orderId = await placedOrder(client);
    const body = (await client.get(`/orders/${orderId}/logs/nosuchservice`)).body;
    expect(body).toContain('Order not found');
  });

  it('shows the event timeline on the order page', async () => {
    const client = new WebClient(web.app);
    const orderId = await placedOrder(client);
    web.store.recordEvent({
      orderId,
      topic: 'pizza-ordered',
      partition: 0,
      offset: '7',
      status: 100,
      eventTimestamp: Date.now(),
      receivedAt: Date.now(),
    });
    const body = (await client.get(`/orders/${orderId}`)).body;
    expect(body).toMatch(/<code>pizza-ordered<\/code><\/td><td>0<\/td><td>7<\/td>/);
  });

  it('refuses more than a handful of live streams per customer, and frees a slot when one closes', async () => {
    const client = new WebClient(web.app);
    const orderId = await placedOrder(client);
    const base = await web.app.listen({ host: '127.0.0.1', port: 0 });
    const open = () => fetch(`${base}/orders/${orderId}/live`, { headers: { cookie: client.cookieHeader() } });
    const streams = await Promise.all(Array.from({ length: web.settings.shop.streamsPerSession }, open));
    expect(streams.map((response) => response.status)).toEqual(streams.map(() => 200));
    const refused = await open();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('20');

    await streams[0]?.body?.cancel();
    // The server hears of the closed stream a moment later.
    await vi.waitFor(
      async () => {
        const response = await open();
        await response.body?.cancel();
        expect(response.status).toBe(200);
      },
      { timeout: 5_000, interval: 20 },
    );
    for (const response of streams.slice(1)) await response.body?.cancel();
  });

  it('ends open event streams when the app closes', async () => {
    const client = new WebClient(web.app);
    const orderId = await placedOrder(client);
    const base = await web.app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${base}/orders/${orderId}/live`, { headers: { cookie: client.cookieHeader() } });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await web.app.close();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    expect(web.app.server.listening).toBe(false);
  });

  it('ends the open streams of a session when it logs out, and keeps those of other sessions', async () => {
    const ada = new WebClient(web.app);
    const adas = await placedOrder(ada);
    const bob = new WebClient(web.app);
    const bobs = await placedOrder(bob);
    const base = await web.app.listen({ host: '127.0.0.1', port: 0 });
    const open = (client: WebClient, orderId: string) =>
      fetch(`${base}/orders/${orderId}/live`, { headers: { cookie: client.cookieHeader() } });
    const adaStream = (await open(ada, adas)).body?.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const bobStream = await open(bob, bobs);
    await adaStream.read();

    expect((await ada.post('/logout', {})).statusCode).toBe(303);
    for (;;) {
      const { done } = await adaStream.read();
      if (done) break;
    }
    // Bob's stream is still open: a status change after the logout reaches it.
    const { statuses } = web.settings;
    const baked = (e: SentEvent) =>
      e.event === 'status' && (e.data as { status: number }).status === statuses.ids.pizza_baked;
    const events = readEvents(bobStream, (seen) => seen.some(baked));
    web.store.applyStatus(bobs, { status: statuses.ids.pizza_baked, timestamp: Date.now() }, statuses, Date.now());
    expect((await events).some(baked)).toBe(true);
  });

  it('streams with the retry delay first, the security headers, and nothing a proxy may keep or recompress', async () => {
    const client = new WebClient(web.app);
    const orderId = await placedOrder(client);
    const base = await web.app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${base}/orders/${orderId}/live`, {
      headers: { cookie: client.cookieHeader(), accept: 'text/event-stream' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store, no-transform');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^id: [0-9a-f]{12}\.\d+\.0\nevent: hello\ndata: \{.*\}\nretry: 2000\n\n/);
    await reader.cancel();
  });

  it('keeps a live page going when its log lines cannot be read, and sends the lines once they can', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const client = new WebClient(web.app);
      const orderId = await placedOrder(client);
      const broken = vi.spyOn(web.orderLogs, 'latestLines').mockImplementation(() => {
        throw new Error('database is locked');
      });
      const base = await web.app.listen({ host: '127.0.0.1', port: 0 });
      const response = await fetch(`${base}/orders/${orderId}/live?service=bake`, {
        headers: { cookie: client.cookieHeader() },
      });
      expect(response.status).toBe(200);
      const events = readEvents(response, (seen) => seen.some((e) => e.event === 'logs'));
      // The page's first read of its lines failed; they can be read again when the next one comes.
      await vi.waitFor(() => expect(broken).toHaveBeenCalled(), { timeout: 5_000 });
      broken.mockRestore();
      writeLogLine('bake', { orderId, msg: 'baking the pizza', bakingSeconds: 8 });
      const seen = await events;
      const logs = seen.find((e) => e.event === 'logs')?.data as { rows: Array<{ msg: string }> };
      // testSettings run the kitchen at time scale 0: no wait at all.
      expect(logs.rows.map((row) => row.msg)).toEqual(['Baking your pizza: a moment.']);
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('pushes only the lines that are new after the first push, never the earlier ones again', async () => {
    const client = new WebClient(web.app);
    const orderId = await placedOrder(client);
    writeLogLine('status', { orderId, msg: 'status: first line' });
    writeLogLine('status', { orderId, msg: 'status: second line' });
    const base = await web.app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${base}/orders/${orderId}/live?service=status`, {
      headers: { cookie: client.cookieHeader() },
    });
    const logEvents = (seen: Array<{ event: string; data: unknown }>) =>
      seen.filter((e) => e.event === 'logs').map((e) => e.data as { append: boolean; rows: Array<{ msg: string }> });
    // A new line after each push: the third (with lines the page does not show) after the first, the fourth after the second.
    const afterFirst = once(
      (seen) => logEvents(seen).length === 1,
      () => {
        writeLogLine('status', { orderId, msg: 'status: third line' });
        writeLogLine('status', { orderId: 'ffffffff', msg: 'status: another order' });
        writeLogLine('deliver', { orderId, msg: 'pizza delivered' });
      },
    );
    const afterSecond = once(
      (seen) => logEvents(seen).length === 2,
      () => writeLogLine('status', { orderId, msg: 'status: fourth line' }),
    );
    const events = readEvents(
      response,
      (seen) => logEvents(seen).length >= 3,
      (seen) => {
        afterFirst(seen);
        afterSecond(seen);
      },
    );
    const pushes = logEvents(await events).map((push) => ({
      append: push.append,
      msgs: push.rows.map((row) => row.msg),
    }));
    expect(pushes).toEqual([
      { append: false, msgs: ['first line.', 'second line.'] },
      { append: true, msgs: ['third line.'] },
      { append: true, msgs: ['fourth line.'] },
    ]);
  });
});

describe('web app: catching up and the stream caps', () => {
  it('resumes from the last event id, and sends the whole state to a page that holds another view’s id', async () => {
    const client = new WebClient(web.app);
    const orderId = await placedOrder(client);
    writeLogLine('status', { orderId, msg: 'status: seen before' });
    const base = await web.app.listen({ host: '127.0.0.1', port: 0 });
    const open = (last?: string) =>
      fetch(`${base}/orders/${orderId}/live?service=status`, {
        headers: { cookie: client.cookieHeader(), ...(last ? { 'last-event-id': last } : {}) },
      });
    const first = await readEvents(await open(), (seen) => seen.some((e) => e.event === 'logs'));
    expect(first.map((e) => e.event)).toEqual(['hello', 'status', 'timeline', 'logs']);
    const lastId = first.at(-1)?.id as string;
    expect(lastId).toMatch(/^[0-9a-f]{12}\.\d+\.\d+$/);

    writeLogLine('status', { orderId, msg: 'status: new since then' });
    const resumed = await readEvents(await open(lastId), (seen) => seen.some((e) => e.event === 'logs'));
    // Nothing about the status changed since that id: only the new line comes.
    expect(resumed.map((e) => e.event)).toEqual(['hello', 'logs']);
    expect(resumed[0]?.data).toMatchObject({ resumed: true });
    expect(resumed[1]?.data).toMatchObject({ append: true, rows: [{ msg: 'new since then.' }] });

    const elsewhere = await readEvents(await open('0123456789ab.99.99'), (seen) =>
      seen.some((e) => e.event === 'logs'),
    );
    expect(elsewhere.map((e) => e.event)).toEqual(['hello', 'status', 'timeline', 'logs']);
    expect(elsewhere[0]?.data).toMatchObject({ resumed: false });
    expect(elsewhere[3]?.data).toMatchObject({ append: false });
  });

  it('answers the polling page with the same state as JSON, new lines only after its cursor, and 404 to strangers', async () => {
    const client = new WebClient(web.app);
    const orderId = await placedOrder(client);
    writeLogLine('status', { orderId, msg: 'status: one' });
    const state = JSON.parse((await client.get(`/orders/${orderId}/state.json?service=status`)).body);
    expect(state).toMatchObject({ status: { orderId, stage: 'assemble' }, logs: { append: false } });
    writeLogLine('status', { orderId, msg: 'status: two' });
    const next = JSON.parse((await client.get(`/orders/${orderId}/state.json?service=status&last=${state.id}`)).body);
    expect(next.logs).toEqual({ service: 'status', append: true, rows: [expect.objectContaining({ msg: 'two.' })] });

    const stranger = new WebClient(web.app);
    await stranger.login('Eve');
    expect((await stranger.get(`/orders/${orderId}/state.json`)).statusCode).toBe(404);
    const mine = JSON.parse((await client.get('/orders/state.json')).body);
    expect(mine.orders.map((order: { orderId: string }) => order.orderId)).toEqual([orderId]);
  });

  it('caps streams per client address, taken from X-Forwarded-For behind a trusted proxy', async () => {
    const { settings, cleanup } = (await import('../../support/settings.js')).testSettings();
    const env = { [settingVariableName('pizza-shop', 'streams_per_address')]: '2' };
    const capped = loadSettings(
      { dataDir: settings.shop.dataDir, logDir: settings.shop.logDir, port: '0', timeScale: '0' },
      { env },
    );
    const store = OrdersStore.open(':memory:');
    const orderLogs = OrderLogStore.open(':memory:');
    const bus = new EmbeddedBus({ partitions: 1 });
    // As buildApp does for trust_proxy = true: one proxy in front.
    const app = Fastify({ trustProxy: proxyTrust({ hops: 1 }) }) as unknown as FastifyInstance;
    await app.register(shopApp, {
      settings: capped,
      store,
      orderLogs,
      bus,
      clock: systemClock,
      log: pino({ level: 'silent' }),
      sessionSecret: 'a-test-secret-that-is-long-enough-to-sign',
      livePollMs: 50,
    });
    try {
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      const people = [new WebClient(app), new WebClient(app), new WebClient(app)];
      const orderIds: string[] = [];
      for (const person of people) orderIds.push(await placedOrder(person));
      const open = (index: number, address: string) =>
        fetch(`${base}/orders/${orderIds[index]}/live`, {
          // What the client wrote itself (left of the proxy's entry) changes nothing.
          headers: { cookie: people[index]?.cookieHeader() ?? '', 'x-forwarded-for': `forged-${index}, ${address}` },
        });
      const a = await open(0, '203.0.113.7');
      const b = await open(1, '203.0.113.7');
      expect([a.status, b.status]).toEqual([200, 200]);
      expect((await open(2, '203.0.113.7')).status).toBe(429);
      // Another customer address behind the same proxy is not held back.
      const c = await open(2, '198.51.100.9');
      expect(c.status).toBe(200);
      for (const response of [a, b, c]) await response.body?.cancel();
    } finally {
      await app.close();
      store.close();
      orderLogs.close();
      await bus.close();
      cleanup();
    }
  });
});
