import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';
import type { Settings } from '../../config/settings.js';
import type { Clock } from '../../roles/role.js';
import type { Bus } from '../bus/bus.js';
import type { OrderLogStore } from '../sqlite/order-log-store.js';
import type { OrdersStore } from '../sqlite/orders-store.js';
import type { LiveFeed } from './live-feed.js';
import type { OrderPlacement } from './order-placement.js';

/** Everything the web app is built from; passed in, never imported. */
export interface AppOptions {
  settings: Settings;
  store: OrdersStore;
  /** This host's copy of the roles' log lines about each order. */
  orderLogs: OrderLogStore;
  bus: Bus;
  clock: Clock;
  log: Logger;
  /** Signs the session and CSRF cookies. */
  sessionSecret: string;
  /** How often the live feed looks at the orders view and the order log lines. */
  livePollMs?: number;
  /** Where the views and static files live; the repository's `templates/` by default. */
  templatesDir?: string;
  /** Places the orders; one on the options' store and bus by default. */
  placement?: OrderPlacement;
}

/** A logged-in customer, as the signed session cookie carries them. */
export interface Customer {
  customerId: string;
  username: string;
}

export interface ShopMetrics {
  registry: Registry;
  ordersPlaced: Counter;
  ordersRejected: Counter<'reason'>;
}

/** What a page needs besides its own data. */
export interface PageContext {
  title: string;
  [field: string]: unknown;
}

declare module 'fastify' {
  interface FastifyInstance {
    shop: Omit<AppOptions, 'log' | 'sessionSecret' | 'livePollMs' | 'templatesDir' | 'placement'>;
    live: LiveFeed;
    /** Places orders once per form, and settles those a crash left being placed. */
    placement: OrderPlacement;
    /** Aborts when the app closes, ending waits that would outlive it. */
    closing: AbortSignal;
    metrics: ShopMetrics;
    /** Ends every open event stream; run before the server closes. */
    endStreams(): void;
    trackStream(end: () => void): () => void;
  }
  interface FastifyRequest {
    customer: Customer | undefined;
  }
  interface FastifyReply {
    /** Renders a view inside the layout, with the customer and a fresh CSRF token. */
    page(template: string, context: PageContext, statusCode?: number): Promise<string>;
  }
}
