/**
 * CPU of the web path alone, per request: the real web app (buildApp, the
 * sessions projection, OrderPlacement on SQLite files, an embedded bus) in a
 * process of its own, driven over keep-alive HTTP by 32 logged-in customers.
 * The server's CPU (process.cpuUsage, asked over IPC) is divided by the
 * requests; the load generator's CPU is not counted.
 *
 *   npx tsx scripts/micro/web.ts [--posts 20000] [--gets 2000] [--reps 3] [--log]
 *
 * `--log` logs at info to /dev/null (as serve logs to a file) instead of silently.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { buildApp } from '../../src/adapters/http/app.js';
import { OrderPlacement } from '../../src/adapters/http/order-placement.js';
import { systemClock } from '../../src/domain/clock.js';
import { startSessionProjection } from '../../src/roles/sessions.js';
import { ShopStores } from '../../src/roles/shop-stores.js';
import { ShopHttpClient } from '../../test/support/http-client.js';
import { testSettings } from '../../test/support/settings.js';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    posts: { type: 'string', default: '20000' },
    gets: { type: 'string', default: '2000' },
    reps: { type: 'string', default: '3' },
    customers: { type: 'string', default: '32' },
    log: { type: 'boolean', default: false },
    /** Writes the server's CPU profiles of the first repetition to <profile>.post.cpuprofile and .get.cpuprofile. */
    profile: { type: 'string' },
  },
});

type ToServer = { cpu: true } | { profile: 'start' } | { profile: 'stop'; path: string } | { stop: true };
type FromServer = { address: string } | { cpu: NodeJS.CpuUsage } | { profiled: true };

if (positionals[0] === 'server') await serve();
else await drive();

async function serve(): Promise<void> {
  const fixture = testSettings();
  // The driver orders far faster than people do: admission off, so the figures are the web path's own.
  const shop = { ...fixture.settings.shop, admission: { ...fixture.settings.shop.admission, enabled: false } };
  const settings = { ...fixture.settings, shop };
  const log = flags.log ? pino({ level: 'info' }, pino.destination('/dev/null')) : pino({ level: 'silent' });
  const stores = new ShopStores(settings);
  const bus = new EmbeddedBus({ partitions: 3 });
  const clock = systemClock;
  const sessions = await startSessionProjection({ bus, settings, clock, log, store: stores.sessions() });
  const store = stores.orders();
  const placement = new OrderPlacement({ settings, store, bus, clock, log });
  const app = await buildApp({
    settings,
    store,
    orderLogs: stores.orderLogs(),
    bus,
    clock,
    log,
    sessionSecret: 'a-micro-benchmark-secret-long-enough-to-sign',
    sessions,
    placement,
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const send = (message: FromServer) => process.send?.(message);
  const inspector = new Session();
  inspector.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      inspector.post(method, (error, result) => (error ? reject(error) : resolve(result))),
    );
  process.on('message', (message: ToServer) => {
    if ('cpu' in message) send({ cpu: process.cpuUsage() });
    else if ('profile' in message && message.profile === 'start')
      void post('Profiler.enable')
        .then(() => post('Profiler.start'))
        .then(() => send({ profiled: true }));
    else if ('profile' in message && message.profile === 'stop') {
      const path = message.path;
      void post('Profiler.stop').then((result) => {
        writeFileSync(path, JSON.stringify((result as { profile: unknown }).profile));
        send({ profiled: true });
      });
    } else
      void (async () => {
        await app.close();
        await sessions.stop();
        await bus.close();
        stores.close();
        fixture.cleanup();
        process.exit(0);
      })();
  });
  send({ address });
}

async function drive(): Promise<void> {
  const child = fork(new URL(import.meta.url).pathname, ['server', ...(flags.log ? ['--log'] : [])], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting: ((message: FromServer) => void)[] = [];
  child.on('message', (message: FromServer) => waiting.shift()?.(message));
  const next = () => new Promise<FromServer>((resolve) => waiting.push(resolve));
  const started = (await next()) as { address: string };
  const cpu = async () => {
    const answer = next();
    child.send({ cpu: true } satisfies ToServer);
    const { cpu: usage } = (await answer) as { cpu: NodeJS.CpuUsage };
    return usage.user + usage.system;
  };

  const customers = await Promise.all(
    Array.from({ length: Number(flags.customers) }, async (_, index) => {
      const client = new ShopHttpClient(started.address);
      await client.login(`micro${index}`);
      return client;
    }),
  );
  const choice = {
    sauce: 'Tomato',
    cheese: 'Mozzarella',
    mainTopping: 'Pepperoni',
    extraToppings: ['Mushroom', 'Onion'],
  };
  const placed: { client: ShopHttpClient; orderId: string }[] = [];

  /** `total` requests spread over the customers, each customer one at a time; returns server CPU µs per request. */
  const measure = async (total: number, request: (client: ShopHttpClient, index: number) => Promise<void>) => {
    let issued = 0;
    const before = await cpu();
    const startedAt = performance.now();
    await Promise.all(
      customers.map(async (client) => {
        while (issued < total) {
          const index = issued++;
          await request(client, index);
        }
      }),
    );
    const wallMs = performance.now() - startedAt;
    const usedUs = (await cpu()) - before;
    return { usPerRequest: usedUs / total, perSecond: (total * 1000) / wallMs };
  };
  const post = async (client: ShopHttpClient) => {
    const orderId = await client.order(choice);
    if (placed.length < 10_000) placed.push({ client, orderId });
  };
  const get = async (_client: ShopHttpClient, index: number) => {
    const { client, orderId } = placed[index % placed.length] as (typeof placed)[number];
    const page = await client.page(`/orders/${orderId}`);
    if (!page.includes(orderId)) throw new Error(`the order page of ${orderId} answered ${page.slice(0, 200)}`);
  };

  // Warm-up: the JIT, SQLite's page cache, the statement caches.
  await measure(2_000, post);
  await measure(500, get);
  const profile = async (message: ToServer) => {
    const answer = next();
    child.send(message);
    await answer;
  };
  for (let rep = 1; rep <= Number(flags.reps); rep += 1) {
    if (rep === 1 && flags.profile) await profile({ profile: 'start' });
    const posts = await measure(Number(flags.posts), post);
    if (rep === 1 && flags.profile) await profile({ profile: 'stop', path: `${flags.profile}.post.cpuprofile` });
    if (rep === 1 && flags.profile) await profile({ profile: 'start' });
    const gets = await measure(Number(flags.gets), get);
    if (rep === 1 && flags.profile) await profile({ profile: 'stop', path: `${flags.profile}.get.cpuprofile` });
    console.log(
      `rep ${rep}: POST /orders ${posts.usPerRequest.toFixed(0)} µs CPU (${posts.perSecond.toFixed(0)}/s), ` +
        `GET /orders/:id ${gets.usPerRequest.toFixed(0)} µs CPU (${gets.perSecond.toFixed(0)}/s)`,
    );
  }
  child.send({ stop: true } satisfies ToServer);
  await new Promise((resolve) => child.once('exit', resolve));
  // The customers' keep-alive sockets would hold the process open.
  process.exit(0);
}
