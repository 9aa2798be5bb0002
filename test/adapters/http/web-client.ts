import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import type { Bus } from '../../../src/adapters/bus/bus.js';
import { EmbeddedBus } from '../../../src/adapters/bus/embedded.js';
import { buildApp } from '../../../src/adapters/http/app.js';
import { OrderPlacement } from '../../../src/adapters/http/order-placement.js';
import { ShopMetrics } from '../../../src/adapters/metrics/shop-metrics.js';
import { OrderLogStore } from '../../../src/adapters/sqlite/order-log-store.js';
import { OrdersStore } from '../../../src/adapters/sqlite/orders-store.js';
import { SessionStore } from '../../../src/adapters/sqlite/session-store.js';
import type { Settings } from '../../../src/config/settings.js';
import { type Clock, systemClock } from '../../../src/domain/clock.js';
import { startSessionProjection } from '../../../src/roles/sessions.js';
import { testSettings } from '../../support/settings.js';

export interface TestWeb {
  app: FastifyInstance;
  placement: OrderPlacement;
  bus: EmbeddedBus;
  store: OrdersStore;
  /** The web host's copy of the log topic; tests write lines into it as the projection would. */
  orderLogs: OrderLogStore;
  settings: Settings;
  /** The process metrics the app counts orders in (served on the operator address, not by the app). */
  metrics: ShopMetrics;
  close(): Promise<void>;
}

/**
 * A bus that publishes through `inner` until `failing` is set, then rejects
 * every publish as a broker outage would.
 */
export function flakyBus(inner: Bus): { bus: Bus; failing: boolean; attempts: number } {
  const control = { bus: inner, failing: false, attempts: 0 };
  control.bus = new Proxy(inner, {
    get(target, property) {
      if (property === 'publish') {
        return async (...args: Parameters<Bus['publish']>) => {
          control.attempts += 1;
          if (control.failing) throw new Error('broker down');
          return target.publish(...args);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return control;
}

export interface TestWebOptions {
  wrapBus?: (bus: EmbeddedBus) => Bus;
  placingWindowMs?: number;
  /** Another web host's bus, to share its topics (the sessions topic); closed by its owner. */
  bus?: EmbeddedBus;
  clock?: Clock;
  /** Settings of [pizza-shop] to change, e.g. `{ loginRatePerMinute: 1000 }`. */
  shop?: Partial<Settings['shop']>;
  templatesDir?: string;
}

/** The web app on an embedded bus and a fresh data dir, for `inject()`. */
export async function startTestWeb(options: TestWebOptions = {}): Promise<TestWeb> {
  const fixture = testSettings();
  const settings: Settings = { ...fixture.settings, shop: { ...fixture.settings.shop, ...options.shop } };
  const bus = options.bus ?? new EmbeddedBus({ partitions: 1 });
  const clock = options.clock ?? systemClock;
  const store = OrdersStore.open(':memory:');
  const orderLogs = OrderLogStore.open(':memory:');
  const log = pino({ level: 'silent' });
  // Logouts go through the sessions topic, as on every web host; the copy lives in this host's data dir.
  const sessionStore = SessionStore.open(join(settings.shop.dataDir, settings.orders.fileName));
  const sessions = await startSessionProjection({ bus, settings, clock, log, store: sessionStore });
  const metrics = new ShopMetrics();
  const publishing = options.wrapBus ? options.wrapBus(bus) : bus;
  const placement = new OrderPlacement({
    settings,
    store,
    bus: publishing,
    clock,
    log,
    placingWindowMs: options.placingWindowMs,
  });
  const app = await buildApp({
    placement,
    settings,
    store,
    orderLogs,
    bus: publishing,
    clock,
    log,
    sessionSecret: 'a-test-secret-that-is-long-enough-to-sign',
    sessions,
    metrics,
    livePollMs: 50,
    templatesDir: options.templatesDir,
  });
  await app.ready();
  return {
    app,
    placement,
    bus,
    store,
    orderLogs,
    settings,
    metrics,
    async close() {
      await app.close();
      await sessions.stop();
      sessionStore.close();
      store.close();
      orderLogs.close();
      if (!options.bus) await bus.close();
      fixture.cleanup();
    },
  };
}

/** A browser stand-in: keeps cookies between requests and reads the CSRF token from pages. */
export class WebClient {
  private readonly cookies = new Map<string, string>();
  csrfToken = '';
  /** The idempotency key of the last order form seen. */
  idempotencyKey = '';

  /** `remoteAddress`: the client address the app sees (inject's default is 127.0.0.1). */
  constructor(
    private app: FastifyInstance,
    private readonly remoteAddress?: string,
  ) {}

  /** Sends this browser's next requests to another web host, cookies and all, as a load balancer would. */
  switchTo(app: FastifyInstance): void {
    this.app = app;
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({ method: 'GET', url, headers: this.headers(), ...this.from() });
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
      ...this.from(),
    });
    this.remember(response);
    return response;
  }

  /** Opens the login page and logs in; returns the login response. */
  async login(username: string): Promise<LightMyRequestResponse> {
    await this.get('/login');
    return this.post('/login', { username });
  }

  /** Places an order from a fresh menu page, with the form's idempotency key; returns the response. */
  async order(form: Record<string, string | string[]>): Promise<LightMyRequestResponse> {
    await this.get('/menu');
    return this.post('/orders', { idempotencyKey: this.idempotencyKey, ...form });
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private from(): { remoteAddress?: string } {
    return this.remoteAddress === undefined ? {} : { remoteAddress: this.remoteAddress };
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
    const key = /name="idempotencyKey" value="([^"]+)"/.exec(response.body)?.[1];
    if (key) this.idempotencyKey = key;
  }
}

export const GOOD_PIZZA = { sauce: 'Pesto', cheese: 'Gouda', mainTopping: 'Chicken', extraToppings: ['Onion', 'Egg'] };
