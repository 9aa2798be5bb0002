import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GOOD_PIZZA, startTestWeb, type TestWeb, WebClient } from './web-client.js';

/** The low findings of issue 21's probe of `pizza all`, each as it was found. */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function webHost(): Promise<TestWeb> {
  const web = await startTestWeb({ shop: { loginRatePerMinute: 1000 } });
  cleanups.push(() => web.close());
  return web;
}

async function placedOrderId(client: WebClient): Promise<string> {
  const placed = await client.order(GOOD_PIZZA);
  const orderId = /\/orders\/([0-9a-f]+)$/.exec(String(placed.headers.location))?.[1];
  if (!orderId) throw new Error(`no order placed: ${placed.statusCode}`);
  return orderId;
}

const ASKED = 'We asked the kitchen to stop your pizza';
const CANCEL_FORM = (orderId: string) => `action="/orders/${orderId}/cancel"`;

/** Raw bytes to the app's port, as a client that is not a browser can send them; the whole answer. */
function rawExchange(port: number, request: Buffer): Promise<{ head: string; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      resolve({ head: statusLine, headers: headerLines.join('\n').toLowerCase(), body: rest.join('\r\n\r\n') });
    });
  });
}

describe('issue 21: the low findings', () => {
  it('says "we asked the kitchen" only to the session that asked, never because a link says so', async () => {
    const web = await webHost();
    const client = new WebClient(web.app);
    await client.login('Ada');
    const orderId = await placedOrderId(client);

    // A link someone sent: nothing was asked, so nothing says so, and the button stays.
    const linked = await client.get(`/orders/${orderId}?cancel=requested`);
    expect(linked.statusCode).toBe(200);
    expect(linked.body).not.toContain(ASKED);
    expect(linked.body).toContain(CANCEL_FORM(orderId));

    const cancelled = await client.post(`/orders/${orderId}/cancel`, {});
    expect(cancelled.statusCode).toBe(303);
    const asked = await client.get(String(cancelled.headers.location));
    expect(asked.body).toContain(ASKED);
    expect(asked.body).not.toContain(CANCEL_FORM(orderId));

    // The same session's other order was not asked about.
    const other = await placedOrderId(client);
    const otherPage = await client.get(`/orders/${other}?cancel=requested`);
    expect(otherPage.body).not.toContain(ASKED);
    expect(otherPage.body).toContain(CANCEL_FORM(other));

    // A new session of the same browser did not ask either (the cookie is bound to the session that did).
    await client.login('Ada');
    const again = await client.get(`/orders/${orderId}`);
    expect(again.statusCode).toBe(404);
  });

  it('answers what Node refuses itself (raw bytes in the request line, 431) with the HTML page and its headers', async () => {
    const web = await webHost();
    await web.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = web.app.server.address() as { port: number };

    const rawBytes = Buffer.concat([
      Buffer.from('GET /caf'),
      Buffer.from([0xc3, 0xa9]),
      Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
    ]);
    const tooLarge = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${'a'.repeat(20_000)}\r\n\r\n`);
    for (const [request, status, heading] of [
      [rawBytes, '400 Bad Request', 'That address is not valid'],
      [tooLarge, '431 Request Header Fields Too Large', 'Your browser sent too much'],
    ] as const) {
      const answer = await rawExchange(port, request);
      expect(answer.head).toBe(`HTTP/1.1 ${status}`);
      expect(answer.headers).toMatch(/^content-type: text\/html/m);
      expect(answer.headers).toMatch(/^content-security-policy: default-src 'self'/m);
      expect(answer.headers).toMatch(/^x-frame-options: deny$/m);
      expect(answer.headers).toMatch(/^x-content-type-options: nosniff$/m);
      expect(answer.headers).toMatch(/^cache-control: no-store$/m);
      expect(answer.headers).not.toMatch(/^set-cookie:/m);
      expect(answer.body).toContain(heading);
    }
  });

  it('logs in with 9 pizza emoji (18 UTF-16 units, 9 characters), and offers the browser room for them', async () => {
    const web = await webHost();
    const client = new WebClient(web.app);
    const login = await client.get('/login');
    expect(login.body).toContain('maxlength="192"');
    expect(login.body).toContain('up to 16 characters');
    expect((await client.post('/login', { username: '\u{1F355}'.repeat(9) })).statusCode).toBe(303);
    expect((await client.get('/menu')).body).toContain('\u{1F355}'.repeat(9));
    const tooMany = await new WebClient(web.app).login('\u{1F355}'.repeat(17));
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.body).toContain('Use at most 16 characters.');
  });
});
