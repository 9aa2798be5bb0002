import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../../src/adapters/bus/embedded.js';
import { type Clock, systemClock } from '../../../src/domain/clock.js';
import { startTestWeb, type TestWeb, type TestWebOptions, WebClient } from './web-client.js';

const HOUR_MS = 3_600_000;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function webHost(options: TestWebOptions = {}): Promise<TestWeb> {
  const web = await startTestWeb(options);
  cleanups.push(() => web.close());
  return web;
}

function sharedBus(): EmbeddedBus {
  const bus = new EmbeddedBus({ partitions: 2 });
  cleanups.push(() => bus.close());
  return bus;
}

/** Waits until `probe` resolves true. */
async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A clock that stands still until a test moves it. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = Date.now();
  return { now: () => now, sleep: systemClock.sleep, advance: (ms) => (now += ms) };
}

function sessionCookie(response: { headers: Record<string, unknown> }): string {
  const cookies = response.headers['set-cookie'];
  return (
    [cookies ?? []]
      .flat()
      .map(String)
      .find((cookie) => cookie.startsWith('pizza_session=')) ?? ''
  );
}

describe('sessions: expiry', () => {
  it('gives the session cookie a lifetime of session_hours, and refuses it once that has passed', async () => {
    const clock = manualClock();
    const web = await webHost({ clock, shop: { sessionHours: 2 } });
    const client = new WebClient(web.app);
    const login = await client.login('Ada');
    expect(sessionCookie(login)).toMatch(/Max-Age=7200/);
    clock.advance(2 * HOUR_MS - 1_000);
    expect((await client.get('/menu')).statusCode).toBe(200);

    clock.advance(2_000);
    const expired = await client.get('/menu');
    expect(expired.statusCode).toBe(303);
    expect(expired.headers.location).toBe('/login');
    // The browser is told to drop the cookie that no longer works.
    expect(sessionCookie(expired)).toMatch(/pizza_session=;/);
  });

  it('refuses a cookie whose expiry was moved, since the signature no longer matches', async () => {
    const web = await webHost();
    const client = new WebClient(web.app);
    await client.login('Ada');
    const [value = '', signature = ''] = /pizza_session=([^;]+)/.exec(client.cookieHeader())?.[1]?.split('.') ?? [];
    const payload = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    const longer = Buffer.from(JSON.stringify({ ...payload, e: payload.e + 1000 * HOUR_MS })).toString('base64url');
    const response = await web.app.inject({
      method: 'GET',
      url: '/menu',
      headers: { cookie: `pizza_session=${longer}.${signature}` },
    });
    expect(response.headers.location).toBe('/login');
  });
});

describe('sessions across web hosts (two apps on one bus, separate data dirs)', () => {
  it('works on every web host, and a logout on host A refuses the cookie on host B', async () => {
    const bus = sharedBus();
    const hostA = await webHost({ bus });
    const hostB = await webHost({ bus });
    expect(hostA.settings.shop.dataDir).not.toBe(hostB.settings.shop.dataDir);

    const browser = new WebClient(hostA.app);
    await browser.login('Ada');
    const stolen = browser.cookieHeader();
    const onB = () => hostB.app.inject({ method: 'GET', url: '/menu', headers: { cookie: stolen } });
    expect((await onB()).statusCode).toBe(200);

    await browser.get('/menu');
    expect((await browser.post('/logout', {})).headers.location).toBe('/login');
    // Refused at once on the host that logged it out...
    const onA = await hostA.app.inject({ method: 'GET', url: '/menu', headers: { cookie: stolen } });
    expect(onA.headers.location).toBe('/login');
    // ...and on the other as soon as it has read the sessions topic.
    await eventually(async () => (await onB()).statusCode === 303, 'host B refusing the logged-out cookie');
    expect((await onB()).headers.location).toBe('/login');
    expect(bus.records(hostA.settings.topics.sessions).map((record) => record.key)).toHaveLength(1);
  });

  it('a web host that starts later, with an empty data dir, refuses sessions logged out before it started', async () => {
    const bus = sharedBus();
    const hostA = await webHost({ bus });
    const browser = new WebClient(hostA.app);
    await browser.login('Ada');
    const stolen = browser.cookieHeader();
    await browser.get('/menu');
    expect((await browser.post('/logout', {})).headers.location).toBe('/login');

    const later = await webHost({ bus });
    await eventually(
      async () =>
        (await later.app.inject({ method: 'GET', url: '/menu', headers: { cookie: stolen } })).statusCode === 303,
      'the new host refusing the logged-out cookie',
    );
  });

  it('logging in again ends the session the browser had, on every host', async () => {
    const bus = sharedBus();
    const hostA = await webHost({ bus });
    const hostB = await webHost({ bus });
    const browser = new WebClient(hostA.app);
    await browser.login('Ada');
    const first = browser.cookieHeader();
    expect((await browser.login('Grace')).headers.location).toBe('/menu');
    expect((await browser.get('/menu')).body).toContain('Grace');
    await eventually(
      async () =>
        (await hostB.app.inject({ method: 'GET', url: '/menu', headers: { cookie: first } })).statusCode === 303,
      'the first session refused on host B',
    );
  });
});
