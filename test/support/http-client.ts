import { Agent, request as httpRequest } from 'node:http';
import { CookieJar } from '../../src/cli/cookie-jar.js';

/**
 * A browser stand-in over real HTTP: keeps cookies, reads the CSRF token from
 * pages, and places orders through the web app's form posts. Used by the Kafka
 * end-to-end tests and by the benchmark, so both order exactly as a customer does.
 */
export class ShopHttpClient {
  private readonly cookies = new CookieJar();
  // Idle sockets go long before the server's own keep-alive timeout, so a reused one is never half closed.
  // At most 6 connections, as a browser keeps per host: more requests wait for one. Without a cap, an
  // open loop at 1,000/s opened a connection per request while the shop was busy, overflowed the listen
  // queue, and about 5 % of its POSTs were reset (ECONNRESET).
  private readonly agent: Agent;
  private csrfToken = '';

  /**
   * `maxSockets: 1` sends everything on one keep-alive connection (a flood test's client);
   * `localAddress` connects from another loopback address (127.0.0.2), a second client address.
   */
  constructor(
    private baseUrl: string,
    options: { maxSockets?: number; localAddress?: string } = {},
  ) {
    this.agent = new Agent({
      keepAlive: true,
      timeout: 5_000,
      maxSockets: options.maxSockets ?? 6,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
  }

  /** Sends this customer's next requests to another web host, cookies and all, as a load balancer would. */
  switchTo(baseUrl: string): void {
    this.baseUrl = baseUrl;
  }

  async login(username: string): Promise<void> {
    await this.request('GET', '/login');
    const response = await this.request('POST', '/login', { username });
    if (response.status !== 303) throw new Error(`login answered ${response.status}`);
    await this.request('GET', '/menu');
  }

  /** Logs out from the last page's form, as the nav's button does. */
  async logout(): Promise<void> {
    const response = await this.request('POST', '/logout', {});
    if (response.status !== 303) throw new Error(`logout answered ${response.status}`);
  }

  /** This customer's cookies as a Cookie header, e.g. to replay them as a thief would. */
  cookieHeader(): string {
    return this.cookies.header();
  }

  /** Places an order; returns its id, read from the redirect to the order page. */
  async order(choice: PizzaForm): Promise<string> {
    const response = await this.tryOrder(choice);
    if (response.orderId === undefined)
      throw new Error(`ordering answered ${response.status}: ${response.body.slice(0, 200)}`);
    return response.orderId;
  }

  /** Sends the order form once and says how the shop answered: placed (an order id), or refused and why. */
  async tryOrder(choice: PizzaForm): Promise<OrderAnswer> {
    const response = await this.request('POST', '/orders', {
      sauce: choice.sauce,
      cheese: choice.cheese,
      mainTopping: choice.mainTopping,
      extraToppings: choice.extraToppings,
      ...(choice.deliveryNote === undefined ? {} : { deliveryNote: choice.deliveryNote }),
    });
    const orderId = /\/orders\/([0-9a-f]{8,32})$/.exec(response.location)?.[1];
    return {
      status: response.status,
      orderId: response.status === 303 ? orderId : undefined,
      retryAfter: response.retryAfter,
      body: response.body,
    };
  }

  /** Fetches a page as this customer and returns its HTML. */
  async page(path: string): Promise<string> {
    const response = await this.request('GET', path);
    return response.status === 200 ? this.lastBody : `HTTP ${response.status}`;
  }

  /**
   * Reloads a page until it shows `text` or `timeoutMs` passes; returns the last HTML seen,
   * so the caller's own check shows what the page said. A failed request ends the wait at once.
   */
  async waitForPage(path: string, text: string, timeoutMs: number): Promise<string> {
    let page = await this.page(path);
    if (page.includes(text)) return page;
    // Imported when called: the benchmark loads this file outside vitest, where importing it throws.
    const { vi } = await import('vitest');
    const failed = await vi
      .waitFor(
        async () => {
          try {
            page = await this.page(path);
          } catch (error) {
            return { error };
          }
          if (!page.includes(text)) throw new Error(`${path} does not show "${text}"`);
          return undefined;
        },
        { timeout: timeoutMs, interval: 100 },
      )
      // Time is up: the page as last seen is the answer.
      .catch(() => undefined);
    if (failed) throw failed.error;
    return page;
  }

  private lastBody = '';

  private async request(
    method: 'GET' | 'POST',
    path: string,
    form?: Record<string, string | string[]>,
  ): Promise<HttpAnswer> {
    const headers: Record<string, string | number> = {};
    if (this.cookies.size > 0) headers.cookie = this.cookieHeader();
    let body: Buffer | undefined;
    if (form) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(form))
        for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
      params.set('_csrf', this.csrfToken);
      body = Buffer.from(params.toString());
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = body.length;
    }
    const response = await send(this.agent, new URL(path, this.baseUrl), method, headers, body);
    this.cookies.takeSetCookie(response.setCookie);
    if (method === 'GET') {
      this.lastBody = response.body;
      const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
      if (token) this.csrfToken = token;
    }
    return response;
  }
}

export interface PizzaForm {
  sauce: string;
  cheese: string;
  mainTopping: string;
  extraToppings: string[];
  /** The optional note for the driver; not sent when absent, as a page from before the note. */
  deliveryNote?: string;
}

export interface OrderAnswer {
  status: number;
  /** Set when the order was placed (a 303 to its page). */
  orderId: string | undefined;
  /** The Retry-After header of a refusal, as sent. */
  retryAfter: string | undefined;
  body: string;
}

interface HttpAnswer {
  status: number;
  location: string;
  retryAfter: string | undefined;
  setCookie: string[];
  body: string;
}

/**
 * One request over node:http with a keep-alive agent: fetch cost the bench's
 * load generator more than the web app's bare route itself (about 1,400
 * against 7,700 requests/s on one machine).
 */
function send(
  agent: Agent,
  url: URL,
  method: string,
  headers: Record<string, string | number>,
  body: Buffer | undefined,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method, headers, agent }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', reject);
      incoming.on('end', () => {
        const setCookie = incoming.headers['set-cookie'] ?? [];
        resolve({
          status: incoming.statusCode ?? 0,
          location: String(incoming.headers.location ?? ''),
          retryAfter: incoming.headers['retry-after'],
          setCookie,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
