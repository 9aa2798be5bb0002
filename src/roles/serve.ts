import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../adapters/http/app.js';
import { OrderPlacement } from '../adapters/http/order-placement.js';
import type { Settings } from '../config/settings.js';
import { configError } from '../errors.js';
import { startOrderLogProjection } from './order-logs.js';
import type { Role, RoleDeps } from './role.js';
import { type SessionProjection, startSessionProjection } from './sessions.js';

const SECRET_FILE = 'session-secret';

/**
 * The secret that signs session cookies: the configured one, else one made on
 * first run and kept in the data dir, so sessions survive a restart. Never
 * hard-coded. Every web host needs the same one for a session to work on all.
 */
export function resolveSessionSecret(settings: Settings, log?: Logger): string {
  if (settings.shop.sessionSecret) return settings.shop.sessionSecret;
  if (settings.kafka) {
    log?.warn(
      '[pizza-shop] session_secret is not set: this web host signs sessions with a secret of its own, so they work on this host only. Set the same session_secret on every web host.',
    );
  }
  const path = join(settings.shop.dataDir, SECRET_FILE);
  try {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch {
    // Not there yet: make one below.
  }
  mkdirSync(settings.shop.dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}

export interface ServeRoleOptions {
  /**
   * How long an order a crash left `placing` gets to show up in the status
   * view before it is published again (see OrderPlacement); 10 s by default.
   */
  placingWindowMs?: number;
}

/** The web app: the shop's front door, and the producer of `pizza-ordered`. */
export function createServeRole(
  deps: RoleDeps,
  options: ServeRoleOptions = {},
): Role & { url(): string | undefined; settled(): Promise<void> } {
  const { settings, log, bus, clock } = deps;
  let app: FastifyInstance | undefined;
  let projection: Awaited<ReturnType<typeof startOrderLogProjection>> | undefined;
  let sessions: SessionProjection | undefined;
  let address: string | undefined;
  let stopping: Promise<void> | undefined;
  let settling: Promise<void> = Promise.resolve();
  const stopSettling = new AbortController();

  return {
    name: 'serve',
    async start() {
      // Without its topic every order would hang until the producer gives up: say so at start.
      await bus.requireTopics([settings.topics.ordered]);
      // One file, one writer: the orders, this host's copy of the roles' lines and the logouts.
      const store = deps.stores.orders();
      // Every web host keeps its own copy of the roles' lines about each order, wherever they run.
      const orderLogs = deps.stores.orderLogs();
      projection = await startOrderLogProjection({ ...deps, store: orderLogs });
      // Logouts on any web host, so that a logged-out cookie works on none of them.
      sessions = await startSessionProjection({ ...deps, store: deps.stores.sessions() });
      const placement = new OrderPlacement({
        settings,
        store,
        bus,
        clock,
        log,
        placingWindowMs: options.placingWindowMs,
      });
      app = await buildApp({
        settings,
        store,
        orderLogs,
        bus,
        clock,
        log,
        placement,
        sessionSecret: resolveSessionSecret(settings, log),
        sessions,
        metrics: deps.metrics,
      });
      try {
        await app.listen({ host: settings.shop.host, port: settings.shop.port });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
        throw configError(
          `Port ${settings.shop.port} on ${settings.shop.host} is already in use (another pizza, perhaps). Stop it, or choose another port with --port.`,
          error,
        );
      }
      // Orders a crash left being placed are settled in the background: the window must not hold up the start.
      settling = placement.reconcile(stopSettling.signal).then(
        (counts) => {
          if (counts.confirmed + counts.published + counts.unsettled > 0) {
            log.info(counts, 'orders left being placed are settled');
          }
        },
        (err) => {
          if (!stopSettling.signal.aborted) log.error({ err }, 'could not settle the orders left being placed');
        },
      );
      const bound = app.server.address();
      const port = typeof bound === 'object' && bound ? bound.port : settings.shop.port;
      const host = settings.shop.host.includes(':') ? `[${settings.shop.host}]` : settings.shop.host;
      address = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
      log.info({ url: address }, 'web app is listening');
    },
    async stop() {
      stopping ??= (async () => {
        try {
          // The settling's wait ends at once; a publish already under way finishes before the store closes.
          stopSettling.abort(new Error('serve is stopping'));
          await app?.close();
          await settling;
          await projection?.stop();
          await sessions?.stop();
        } finally {
          // The stores' files are closed where they were opened (ShopStores), after every role has stopped.
          address = undefined;
          log.info('serve stopped');
        }
      })();
      return stopping;
    },
    url: () => address,
    settled: () => settling,
  };
}
