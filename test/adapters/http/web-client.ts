import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import type { Bus } from '../../../src/adapters/bus/bus.js';
import { EmbeddedBus } from '../../../src/adapters/bus/embedded.js';
import { buildApp } from '../../../src/adapters/http/app.js';
import { OrdersStore } from '../../../src/adapters/sqlite/orders-store.js';
import type { Settings } from '../../../src/config/settings.js';
import { systemClock } from '../../../src/roles/role.js';
import { testSettings } from '../../support/settings.js';

export interface TestWeb {
  app: FastifyInstance;
  bus: EmbeddedBus;
  store: OrdersStore;
  settings: Settings;
  close(): Promise<void>;
}

/** The web app on an embedded bus and a fresh data dir, for `inject()`. */
export async function startTestWeb(options: { bus?: Bus } = {}): Promise<TestWeb> {
  const { settings, cleanup } = testSettings();
  const bus = new EmbeddedBus({ partitions: 1 });
  const store = OrdersStore.open(':memory:');
  const app = await buildApp({
    settings,
    store,
    bus: options.bus ?? bus,
    clock: systemClock,
    log: pino({ level: 'silent' }),
    sessionSecret: 'a-test-secret-that-is-long-enough-to-sign',
    livePollMs: 50,
  });
  await app.ready();
  return {
    app,
    bus,
    store,
    settings,
    async close() {
      await app.close();
      store.close();
      await bus.close();
      cleanup();
    },
  };
}

/** A browser stand-in: keeps cookies between requests and reads the CSRF token from pages. */
export class WebClient {
  private readonly cookies = new Map<string, string>();
  csrfToken = '';

  constructor(private readonly app: FastifyInstance) {}

  async get(url: string): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({ method: 'GET', url, headers: this.headers() });
    this.remember(response);
    return response;
  }

  /** Posts a form; the page's CSRF token is added unless `csrf` is false. */
  async post(url: string, form: Record<string, string | string[]>, csrf = true): Promise<LightMyRequestResponse> {
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(form)) {
      for (const item of Array.isArray(value) ? value : [value]) body.append(key, item);
    }
    if (csrf) body.set('_csrf', this.csrfToken);
    const response = await this.app.inject({
      method: 'POST',
      url,
      headers: { ...this.headers(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: body.toString(),
    });
    this.remember(response);
    return response;
  }

  /** Opens the login page and logs in; returns the login response. */
  async login(username: string): Promise<LightMyRequestResponse> {
    await this.get('/login');
    return this.post('/login', { username });
  }

  /** Places an order from the menu page; returns the response. */
  async order(form: Record<string, string | string[]>): Promise<LightMyRequestResponse> {
    await this.get('/menu');
    return this.post('/orders', form);
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private headers(): Record<string, string> {
    return this.cookies.size > 0 ? { cookie: this.cookieHeader() } : {};
  }

  private remember(response: LightMyRequestResponse): void {
    for (const cookie of response.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      const expired = cookie.maxAge === 0 || (cookie.expires && cookie.expires.getTime() <= Date.now());
      if (expired || cookie.value === '') this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
    if (token) this.csrfToken = token;
  }
}

export const GOOD_PIZZA = { sauce: 'Pesto', cheese: 'Gouda', mainTopping: 'Chicken', extraToppings: ['Onion', 'Egg'] };
