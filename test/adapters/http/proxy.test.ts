import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestWeb, type TestWebOptions } from './web-client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** The web app on a real port of 127.0.0.1. */
async function listeningWeb(shop: TestWebOptions['shop']): Promise<number> {
  const web = await startTestWeb({ shop });
  cleanups.push(() => web.close());
  await web.app.listen({ host: '127.0.0.1', port: 0 });
  return portOf(web.app.server);
}

/**
 * A TLS proxy as nginx's `proxy_add_x_forwarded_for` is one (without the TLS):
 * it forwards each request to the web app, appending the address of its own
 * peer to whatever X-Forwarded-For the client sent, and says the scheme was https.
 */
async function forwardingProxy(targetPort: number): Promise<number> {
  const proxy = createServer((incoming, outgoing) => {
    const sent = incoming.headers['x-forwarded-for'];
    const peer = incoming.socket.remoteAddress ?? '';
    const headers: IncomingHttpHeaders = {
      ...incoming.headers,
      'x-forwarded-for': sent ? `${sent}, ${peer}` : peer,
      'x-forwarded-proto': 'https',
    };
    const upstream = httpRequest(
      { host: '127.0.0.1', port: targetPort, method: incoming.method, path: incoming.url, headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => closeServer(proxy));
  return portOf(proxy);
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A customer on their own loopback address (127.0.0.x: all of 127/8 is loopback on Linux), reaching the shop through the proxy. */
class ProxiedClient {
  private cookies = new Map<string, string>();

  constructor(
    private readonly proxyPort: number,
    private readonly localAddress: string,
    /** What the client writes in X-Forwarded-For itself, per request; none when undefined. */
    private readonly forwardedFor?: (request: number) => string,
  ) {}
  private requests = 0;

  async login(username: string): Promise<Answer> {
    const page = await this.send('GET', '/login');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    return this.send('POST', '/login', new URLSearchParams({ username, _csrf: csrf }).toString());
  }

  private send(method: string, path: string, form?: string): Promise<Answer> {
    const headers: Record<string, string> = {
      cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
    };
    this.requests += 1;
    if (this.forwardedFor) headers['x-forwarded-for'] = this.forwardedFor(this.requests);
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    return new Promise((resolve, reject) => {
      const sent = httpRequest(
        { host: '127.0.0.1', port: this.proxyPort, localAddress: this.localAddress, method, path, headers },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            body += chunk;
          });
          response.on('end', () => {
            for (const cookie of response.headers['set-cookie'] ?? []) {
              const [pair = ''] = cookie.split(';');
              const at = pair.indexOf('=');
              this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
            }
            resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
          });
        },
      );
      sent.on('error', reject);
      sent.end(form);
    });
  }
}

/** Logs in `times` times; the statuses of the login posts. */
async function logins(client: ProxiedClient, times: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < times; index += 1) statuses.push((await client.login(`ada${index}`)).status);
  return statuses;
}

const DEFAULT_LOGIN_RATE = 60;

describe('the client address behind a proxy that appends to X-Forwarded-For (issue 21)', () => {
  it('with trust_proxy = true (one proxy), a forged X-Forwarded-For hits the login rate limit like no header', async () => {
    const shop = { trustProxy: { hops: 1 }, loginRatePerMinute: DEFAULT_LOGIN_RATE };
    // A new left-most address on every request: trusting every hop made each one a new client.
    const forgery = (request: number) => `forged-${request}, 203.0.113.9`;
    const forged = await logins(
      new ProxiedClient(await forwardingProxy(await listeningWeb(shop)), '127.0.0.9', forgery),
      65,
    );
    const plain = await logins(new ProxiedClient(await forwardingProxy(await listeningWeb(shop)), '127.0.0.9'), 65);
    const expected = [...Array(DEFAULT_LOGIN_RATE).fill(303), ...Array(5).fill(429)];
    expect(forged).toEqual(expected);
    expect(plain).toEqual(expected);
  });

  it('with the proxy named by address, tells clients apart by the address the proxy saw, whatever they forge', async () => {
    const proxy = await forwardingProxy(
      await listeningWeb({ trustProxy: { addresses: ['127.0.0.1'] }, loginRatePerMinute: 2 }),
    );
    const mallory = new ProxiedClient(proxy, '127.0.0.9', () => 'forged, 203.0.113.9');
    const first = await mallory.login('Mallory');
    expect(first.status).toBe(303);
    // The proxy said https: the session cookie is Secure.
    expect(String(first.headers['set-cookie'])).toMatch(/pizza_session=[^;]+;.*Secure/);
    expect([(await mallory.login('Mallory')).status, (await mallory.login('Mallory')).status]).toEqual([303, 429]);
    // Another forged address changes nothing; another customer behind the same proxy is not held up.
    expect((await new ProxiedClient(proxy, '127.0.0.9', () => '198.51.100.7').login('Eve')).status).toBe(429);
    expect((await new ProxiedClient(proxy, '127.0.0.10').login('Ada')).status).toBe(303);
  });
});
