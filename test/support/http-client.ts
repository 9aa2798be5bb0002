import { CookieJar } from '../../src/cli/cookie-jar.js';

/**
 * A browser stand-in over real HTTP: keeps cookies, reads the CSRF token from
 * pages, and places orders through the web app's form posts. Used by the Kafka
 * end-to-end tests and by the benchmark, so both order exactly as a customer does.
 */
export class ShopHttpClient {
  private readonly cookies = new CookieJar();
  private csrfToken = '';

  constructor(private baseUrl: string) {}

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
  async order(choice: {
    sauce: string;
    cheese: string;
    mainTopping: string;
    extraToppings: string[];
  }): Promise<string> {
    const response = await this.request('POST', '/orders', {
      sauce: choice.sauce,
      cheese: choice.cheese,
      mainTopping: choice.mainTopping,
      extraToppings: choice.extraToppings,
    });
    const orderId = /\/orders\/([0-9a-f]{8,32})$/.exec(response.headers.get('location') ?? '')?.[1];
    if (response.status !== 303 || !orderId)
      throw new Error(`ordering answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    return orderId;
  }

  /** Fetches a page as this customer and returns its HTML. */
  async page(path: string): Promise<string> {
    const response = await this.request('GET', path);
    return response.status === 200 ? this.lastBody : `HTTP ${response.status}`;
  }

  /** Reloads a page until it shows `text` or `timeoutMs` passes; returns the last HTML seen. */
  async waitForPage(path: string, text: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let page = await this.page(path);
    while (!page.includes(text) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      page = await this.page(path);
    }
    return page;
  }

  private lastBody = '';

  private async request(
    method: 'GET' | 'POST',
    path: string,
    form?: Record<string, string | string[]>,
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = this.cookieHeader();
    let body: string | undefined;
    if (form) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(form))
        for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
      params.set('_csrf', this.csrfToken);
      body = params.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await fetch(new URL(path, this.baseUrl), { method, headers, body, redirect: 'manual' });
    this.cookies.take(response);
    if (method === 'GET') {
      const text = await response.text();
      this.lastBody = text;
      const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
      if (token) this.csrfToken = token;
    }
    return response;
  }
}
