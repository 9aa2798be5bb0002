import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATES_DIR } from '../../../src/adapters/http/app.js';
import { staticVersion } from '../../../src/adapters/http/static-assets.js';
import { createLoggerFactory } from '../../../src/adapters/logs/logger.js';
import { systemClock } from '../../../src/domain/clock.js';
import { startOrderLogProjection } from '../../../src/roles/order-logs.js';
import { startShop } from '../../../src/roles/shop.js';
import { ShopHttpClient } from '../../support/http-client.js';
import { testSettings } from '../../support/settings.js';
import { silentLogs, waitFor } from '../../support/shop.js';
import { GOOD_PIZZA, startTestWeb, type TestWeb, type TestWebOptions, WebClient } from './web-client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function webHost(options: TestWebOptions = {}): Promise<TestWeb> {
  const web = await startTestWeb(options);
  cleanups.push(() => web.close());
  return web;
}

function cookieValue(client: WebClient, name: string): string {
  return new RegExp(`${name}=([^;]+)`).exec(client.cookieHeader())?.[1] ?? '';
}

function expectSecurityHeaders(headers: Record<string, unknown>): void {
  expect(String(headers['content-security-policy'])).toContain("default-src 'self'");
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['x-frame-options']).toBe('DENY');
}

describe('CSRF tokens are bound to the session', () => {
  it("refuses an attacker's own CSRF cookie and token pair for the victim's session", async () => {
    const web = await webHost();
    const victim = new WebClient(web.app);
    await victim.login('Victim');
    await victim.get('/menu');
    // The attacker's own, valid pair, from a page they loaded themselves before logging in.
    const attacker = new WebClient(web.app);
    await attacker.get('/login');
    const forged = await web.app.inject({
      method: 'POST',
      url: '/logout',
      headers: {
        // Their CSRF cookie planted beside the victim's session (a cookie set from a sibling host, say).
        cookie: `pizza_session=${cookieValue(victim, 'pizza_session')}; pizza_csrf=${cookieValue(attacker, 'pizza_csrf')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: `_csrf=${encodeURIComponent(attacker.csrfToken)}`,
    });
    expect(forged.statusCode).toBe(403);
    expect(forged.body).toContain('This form has expired');
    expect((await victim.get('/menu')).statusCode).toBe(200);
  });

  it("refuses the token of the attacker's own session for the victim's session", async () => {
    const web = await webHost();
    const victim = new WebClient(web.app);
    await victim.login('Victim');
    const attacker = new WebClient(web.app);
    await attacker.login('Mallory');
    await attacker.get('/menu');
    victim.csrfToken = attacker.csrfToken;
    expect((await victim.post('/logout', {})).statusCode).toBe(403);
    // The victim's own token works.
    await victim.get('/menu');
    expect((await victim.post('/logout', {})).statusCode).toBe(303);
  });

  it('ends the tokens of a session with it: a page from before a logout cannot post after the next login', async () => {
    const web = await webHost();
    const client = new WebClient(web.app);
    await client.login('Ada');
    await client.get('/menu');
    const before = client.csrfToken;
    await client.post('/logout', {});
    await client.login('Ada');
    client.csrfToken = before;
    expect((await client.post('/orders', GOOD_PIZZA)).statusCode).toBe(403);
  });
});

describe('login rate limit per client address', () => {
  it('answers the login after login_rate_per_minute with a 429 page that says when to try again', async () => {
    const web = await webHost({ shop: { loginRatePerMinute: 3 } });
    const client = new WebClient(web.app);
    for (let index = 0; index < 3; index += 1) expect((await client.login(`ada${index}`)).statusCode).toBe(303);
    const refused = await client.login('ada3');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.body).toContain('Too many logins');
    expect(refused.body).toMatch(/Wait \d+ seconds/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expectSecurityHeaders(refused.headers);
    // Only logging in is limited: the customer already logged in goes on shopping.
    expect((await client.get('/menu')).statusCode).toBe(200);
  });

  it('counts the forwarded address behind a trusted proxy, and ignores X-Forwarded-For otherwise', async () => {
    const loginFrom = async (web: TestWeb, address: string) => {
      const client = new WebClient(web.app);
      await client.get('/login');
      const response = await web.app.inject({
        method: 'POST',
        url: '/login',
        headers: {
          cookie: client.cookieHeader(),
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-for': address,
        },
        payload: `username=Ada&_csrf=${encodeURIComponent(client.csrfToken)}`,
      });
      return response.statusCode;
    };
    const proxied = await webHost({ shop: { loginRatePerMinute: 1, trustProxy: { hops: 1 } } });
    expect(await loginFrom(proxied, '203.0.113.1')).toBe(303);
    expect(await loginFrom(proxied, '203.0.113.1')).toBe(429);
    expect(await loginFrom(proxied, '203.0.113.2')).toBe(303);

    const direct = await webHost({ shop: { loginRatePerMinute: 1, trustProxy: false } });
    expect(await loginFrom(direct, '203.0.113.1')).toBe(303);
    expect(await loginFrom(direct, '203.0.113.2')).toBe(429);
  });
});

describe('hardening', () => {
  it('answers a malformed URL with the HTML 400 page and every security header', async () => {
    const web = await webHost();
    for (const url of ['/%', '/orders/%E0%A4%A']) {
      const response = await web.app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.body).toContain('That address is not valid');
      expect(response.headers['cache-control']).toBe('no-store');
      expectSecurityHeaders(response.headers);
    }
  });

  it('serves no /metrics on the customers port', async () => {
    const web = await webHost();
    const response = await web.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(404);
    expect(response.body).not.toContain('pizza_orders_placed_total');
  });

  it('lets no browser or proxy keep a page: login, menu, orders, an order, errors', async () => {
    const web = await webHost();
    const client = new WebClient(web.app);
    expect((await client.get('/login')).headers['cache-control']).toBe('no-store');
    await client.login('Ada');
    const placed = await client.order(GOOD_PIZZA);
    for (const url of ['/menu', '/orders', String(placed.headers.location), '/no/such/page', '/health-check']) {
      expect((await client.get(url)).headers['cache-control'], url).toBe('no-store');
    }
  });

  it('serves static files under a versioned URL for a year, immutable, and the plain URL revalidated', async () => {
    const web = await webHost();
    const versioned = `/static/${staticVersion(join(DEFAULT_TEMPLATES_DIR, 'static'))}/app.css`;
    expect(versioned).toMatch(/^\/static\/[0-9a-f]{12}\/app\.css$/);
    const long = await web.app.inject({ method: 'GET', url: versioned });
    expect(long.statusCode).toBe(200);
    expect(long.headers['cache-control']).toMatch(/max-age=31536000/);
    expect(long.headers['cache-control']).toMatch(/immutable/);
    expect(long.body).toBe(readFileSync(join(DEFAULT_TEMPLATES_DIR, 'static', 'app.css'), 'utf8'));
    const plain = await web.app.inject({ method: 'GET', url: '/static/app.css' });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['cache-control']).toBe('no-cache');
  });

  it("gives templates {{static 'app.css'}}, and a new file content a new URL", async () => {
    const templatesDir = mkdtempSync(join(tmpdir(), 'pizza-templates-'));
    cleanups.push(() => rmSync(templatesDir, { recursive: true, force: true }));
    cpSync(DEFAULT_TEMPLATES_DIR, templatesDir, { recursive: true });
    const layout = join(templatesDir, 'layout.hbs');
    writeFileSync(layout, readFileSync(layout, 'utf8').replace('"/static/app.css"', `"{{static 'app.css'}}"`));
    const stylesheet = async () => {
      const web = await webHost({ templatesDir });
      const login = await web.app.inject({ method: 'GET', url: '/login' });
      const href = /<link rel="stylesheet" href="([^"]+)"/.exec(login.body)?.[1] ?? '';
      expect(href).toBe(`/static/${staticVersion(join(templatesDir, 'static'))}/app.css`);
      expect((await web.app.inject({ method: 'GET', url: href })).statusCode).toBe(200);
      return href;
    };
    const before = await stylesheet();
    writeFileSync(join(templatesDir, 'static', 'app.css'), 'body { color: black; }\n');
    expect(await stylesheet()).not.toBe(before);
  });

  it('shows the messages of an AggregateError on the order page, and none of its stacks', async () => {
    const web = await webHost();
    const client = new WebClient(web.app);
    await client.login('Ada');
    const orderId =
      String((await client.order(GOOD_PIZZA)).headers.location)
        .split('/')
        .pop() ?? '';
    // A role logs the error; its line goes through the log topic into this web host's copy.
    const projection = await startOrderLogProjection({
      bus: web.bus,
      settings: web.settings,
      clock: systemClock,
      log: pino({ level: 'silent' }),
      store: web.orderLogs,
    });
    cleanups.push(() => projection.stop());
    const logs = createLoggerFactory({ level: 'silent', logDir: undefined });
    const sink = logs.attachOrderLogSink?.((id, line) => web.bus.publish(web.settings.topics.logs, id, line));
    const failure = new AggregateError(
      [new Error('the oven is cold'), new TypeError('no driver free', { cause: new Error('all out') })],
      'baking failed twice',
    );
    logs.forRole('bake').error({ orderId, err: failure, attempts: [failure.errors[0]] }, 'could not bake');
    await sink?.close();
    // Anyone may write to the log topic: an older or foreign producer's line with stacks nested deep.
    const stack = 'Error: the oven is cold\n    at bake (/srv/pizza/dist/roles/bake.js:10:5)';
    const foreign = {
      time: Date.now(),
      level: 50,
      role: 'bake',
      msg: 'could not bake',
      failures: [{ type: 'Error', message: 'the oven is cold', stack }],
      detail: { attempt: 2, last: { name: 'Error', message: 'no driver free', stack } },
    };
    await web.bus.publish(web.settings.topics.logs, orderId, Buffer.from(JSON.stringify(foreign)));
    await waitFor(() => web.orderLogs.latestLines(orderId, 'bake').length === 2, 'both lines in the copy');

    // What a stack shows: the server's paths, and the word itself.
    const traces = ['/srv/pizza', process.cwd(), 'node:internal', 'security.test.ts:', 'stack'];
    const stored = JSON.stringify(web.orderLogs.latestLines(orderId, 'bake'));
    expect(stored).toContain('the oven is cold');
    expect(stored).toContain('no driver free');
    for (const page of [`/orders/${orderId}?service=bake`, `/orders/${orderId}/logs/bake`]) {
      const body = (await client.get(page)).body;
      for (const trace of traces) expect(body, page).not.toContain(trace);
    }
    for (const trace of traces) expect(stored).not.toContain(trace);
  });
});

describe('metrics on the operator address', () => {
  it('counts the web app’s orders in the process metrics, served on the operator port and not the web port', async () => {
    const { settings, cleanup } = testSettings();
    cleanups.push(cleanup);
    const shop = await startShop({ settings, roles: ['serve'], logs: silentLogs() });
    cleanups.push(() => shop.stop());
    const customer = new ShopHttpClient(shop.url ?? '');
    await customer.login('Ada');
    await customer.order(GOOD_PIZZA);
    expect((await fetch(`${shop.url}/metrics`)).status).toBe(404);
    const metrics = await (await fetch(`${shop.operatorUrl}/metrics`)).text();
    expect(metrics).toMatch(/^pizza_orders_placed_total 1$/m);
  });
});
