import type { Logger } from 'pino';
import type { Settings } from '../../config/settings.js';
import type { Clock } from '../../domain/clock.js';
import type { Bus } from '../bus/bus.js';
import type { ShopMetrics } from '../metrics/shop-metrics.js';
import type { OrderLogStore } from '../sqlite/order-log-store.js';
import type { OrdersStore } from '../sqlite/orders-store.js';
import type { Revocation } from '../sqlite/session-store.js';
import type { LiveFeed } from './live-feed.js';
import type { LiveStreams } from './live-streams.js';
import type { OrderPlacement } from './order-placement.js';
import type { InvalidFormPage } from './schemas.js';

/** Everything the web app is built from; passed in, never imported. */
export interface AppOptions {
  settings: Settings;
  store: OrdersStore;
  /** This host's copy of the roles' log lines about each order. */
  orderLogs: OrderLogStore;
  bus: Bus;
  clock: Clock;
  log: Logger;
  /** Signs the session and CSRF cookies; the same on every web host, so a session works on any of them. */
  sessionSecret: string;
  /**
   * Logged-out sessions, shared by every web host (serve passes the sessions
   * topic's projection). Without it, logouts are remembered in memory by this
   * app alone: enough for a test, never for several web hosts.
   */
  sessions?: SessionRevocations;
  /** The process's metrics (served on the operator address); a fresh set when not given. */
  metrics?: ShopMetrics;
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

export type { ShopMetrics };

/** A logged-in session, as the signed session cookie carries it. */
export interface Session {
  /** Random, unguessable; what a logout revokes. */
  sessionId: string;
  customer: Customer;
  /** Epoch ms; the cookie is refused from then on. */
  expiresAt: number;
}

/** Which sessions were logged out, on any web host. */
export interface SessionRevocations {
  isRevoked(sessionId: string): boolean;
  /** Refuses the session here at once, and on every other web host as soon as it hears of it. */
  revoke(revocation: Revocation): Promise<void>;
}

/**
 * Where @fastify/csrf-protection keeps a CSRF secret: derived from the session
 * when logged in, a signed cookie of its own before that. It has the shape of
 * @fastify/secure-session's `request.session`, the one part of that plugin
 * csrf-protection uses; the plugin itself is not used (see plugins/session.ts).
 */
export interface CsrfSecretHolder {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  options(options: unknown): void;
}

/** What a page needs besides its own data. */
export interface PageContext {
  title: string;
  [field: string]: unknown;
}

declare module 'fastify' {
  interface FastifyInstance {
    shop: Omit<
      AppOptions,
      'log' | 'sessionSecret' | 'livePollMs' | 'templatesDir' | 'placement' | 'sessions' | 'metrics'
    >;
    /** Logged-out sessions, shared by every web host. */
    sessions: SessionRevocations;
    /** A static file's URL with the files' version in it, cached for a year: `staticUrl('app.css')`. */
    staticUrl(path: string): string;
    live: LiveFeed;
    /** Places orders once per form, and settles those a crash left being placed. */
    placement: OrderPlacement;
    /** Aborts when the app closes, ending waits that would outlive it. */
    closing: AbortSignal;
    metrics: ShopMetrics;
    /** The open event streams: their caps, and their end on logout and shutdown. */
    streams: LiveStreams;
  }
  interface FastifyRequest {
    customer: Customer | undefined;
    /** The logged-in session, valid (signed, not expired, not logged out); undefined otherwise. */
    shopSession: Session | undefined;
    /** Read by @fastify/csrf-protection in its secure-session mode. */
    session: CsrfSecretHolder;
  }
  interface FastifyReply {
    /** Data every view of this reply gets besides its own (@fastify/view merges it in). */
    locals: Record<string, unknown> | null;
    /** Renders a view inside the layout, with the customer and a fresh CSRF token. */
    page(template: string, context: PageContext, statusCode?: number): Promise<string>;
  }
  interface FastifyContextConfig {
    /** The route's form again, with what its schema refused (see schemas.ts); the error page otherwise. */
    invalidForm?: InvalidFormPage;
  }
}
