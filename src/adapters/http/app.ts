import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { TooManyOrdersError } from './admission.js';
import type { AppOptions } from './context.js';
import { OrderPlacement } from './order-placement.js';
import { type ClientErrorKind, ClientErrorPages } from './plugins/client-errors.js';
import live from './plugins/live.js';
import metrics from './plugins/metrics.js';
import security, { FORM_BODY_LIMIT, proxyTrust, TooManyRequestsError } from './plugins/security.js';
import session, { inMemoryRevocations } from './plugins/session.js';
import views from './plugins/views.js';
import authRoutes from './routes/auth.js';
import cancelRoutes from './routes/cancel.js';
import healthRoutes from './routes/health.js';
import lineageRoutes from './routes/lineage.js';
import liveRoutes from './routes/live.js';
import orderRoutes from './routes/orders.js';
import { formProblems } from './schemas.js';
import staticAssets from './static-assets.js';

export type { AppOptions } from './context.js';

/** `templates/` at the package root, from `src/adapters/http` and from `dist/adapters/http` alike. */
export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../../templates', import.meta.url));
const LIVE_POLL_MS = 200;
/** Where a request the router cannot read (a malformed URL such as `/%`) is answered, with every hook. */
const BAD_REQUEST_PATH = '/bad-request';

/** The web app as a plugin: everything but the process and the port. */
export async function shopApp(fastify: FastifyInstance, options: AppOptions) {
  // Route schemas are zod schemas (schemas.ts), checked before a handler runs.
  fastify.setValidatorCompiler(validatorCompiler);
  fastify.setSerializerCompiler(serializerCompiler);
  fastify.decorate('shop', {
    settings: options.settings,
    store: options.store,
    orderLogs: options.orderLogs,
    bus: options.bus,
    clock: options.clock,
  });
  const closing = new AbortController();
  fastify.decorate('closing', closing.signal);
  fastify.decorate('sessions', options.sessions ?? inMemoryRevocations(options.clock));
  fastify.addHook('preClose', async () => closing.abort(new Error('the web app is closing')));
  fastify.decorate(
    'placement',
    options.placement ??
      new OrderPlacement({
        settings: options.settings,
        store: options.store,
        bus: options.bus,
        clock: options.clock,
        log: options.log,
      }),
  );
  await fastify.register(metrics, { metrics: options.metrics });
  // Nothing a customer sees is kept by a browser or a proxy, unless a route says otherwise
  // (static files do): pages hold names, orders and one-time form keys.
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.header('cache-control', 'no-store');
    done();
  });
  await fastify.register(security, { secret: options.sessionSecret });
  await fastify.register(session, { secret: options.sessionSecret });
  const templatesDir = options.templatesDir ?? DEFAULT_TEMPLATES_DIR;
  await fastify.register(views, { templatesDir, shopName: 'Pizza shop' });
  await fastify.register(staticAssets, { dir: join(templatesDir, 'static') });
  await fastify.register(live, { intervalMs: options.livePollMs ?? LIVE_POLL_MS, log: options.log });
  fastify.live.watchOrderLogs(options.orderLogs);

  fastify.setNotFoundHandler(async (_request, reply) =>
    reply.page(
      'error',
      { title: 'Page not found', heading: 'Page not found', message: 'There is no page at this address.' },
      404,
    ),
  );

  // The one error handler: customers get a page that says what to do, never a stack trace.
  fastify.setErrorHandler(async (error: FastifyError, request, reply) => {
    const statusCode = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: error.code, statusCode }, error.message);
    const message = messageFor(error, statusCode);
    try {
      // A form its route's schema refused: the form again, saying what to change.
      const problems = formProblems(error);
      const invalidForm = request.routeOptions.config?.invalidForm;
      if (problems && invalidForm) return await invalidForm(request, reply, problems);
      return await reply.page('error', { title: message.heading, ...message }, statusCode);
    } catch (renderError) {
      request.log.error({ err: renderError }, 'the error page could not be rendered');
      return reply.code(statusCode).type('text/plain; charset=utf-8').send(message.heading);
    }
  });

  fastify.get(BAD_REQUEST_PATH, async (request, reply) => {
    const { reason } = request.query as { reason?: string };
    const page =
      reason === 'headers' || reason === 'timeout' ? CLIENT_ERROR_PAGES[reason] : CLIENT_ERROR_PAGES.unreadable;
    return reply.page('error', { title: page.heading, heading: page.heading, message: page.message }, page.statusCode);
  });

  // Routes come after the handlers, so that they use them.
  await fastify.register(healthRoutes);
  await fastify.register(authRoutes);
  await fastify.register(orderRoutes);
  await fastify.register(cancelRoutes);
  await fastify.register(liveRoutes);
  await fastify.register(lineageRoutes);
}

/** The pages of BAD_REQUEST_PATH: a URL the router cannot read, and what Node refuses itself (plugins/client-errors.ts). */
const CLIENT_ERROR_PAGES: Record<ClientErrorKind, { heading: string; message: string; statusCode: number }> = {
  unreadable: {
    heading: 'That address is not valid',
    message: 'Check the link, or go back to the shop.',
    statusCode: 400,
  },
  headers: {
    heading: 'Your browser sent too much',
    message:
      "That request carried more headers or cookies than the shop reads. Clear this site's cookies, then try again.",
    statusCode: 431,
  },
  timeout: {
    heading: 'That request took too long',
    message: 'It did not arrive in time. Try again.',
    statusCode: 408,
  },
};

function messageFor(error: FastifyError, statusCode: number): { heading: string; message: string } {
  if (error.code?.startsWith('FST_CSRF')) {
    return {
      heading: 'This form has expired',
      message:
        'The form was not sent from a page of this shop, or it is too old. Go back, reload the page and try again.',
    };
  }
  if (error instanceof TooManyOrdersError) return error.page;
  if (error instanceof TooManyRequestsError) {
    return {
      heading: 'Too many logins',
      message: `Too many logins came from your address in the last minute. Wait ${error.retryAfterSeconds} seconds, then try again.`,
    };
  }
  if (statusCode === 413) return { heading: 'Too much data', message: 'That form was far bigger than any order.' };
  if (statusCode < 500) return { heading: 'That request was not understood', message: 'Go back and try again.' };
  return { heading: 'Something went wrong', message: 'The shop could not handle that. Please try again in a moment.' };
}

/** A ready-to-inject app; `listen()` it, or use `inject()` in tests. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const fastify = Fastify({
    loggerInstance: options.log as FastifyBaseLogger,
    // Request lines would drown the order lines people read on the order page.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: FORM_BODY_LIMIT,
    // Behind trusted proxies: the client's address (for rate limits and stream caps) and scheme (for Secure
    // cookies) are the forwarded ones, read from the right so that what a client writes itself never counts.
    trustProxy: proxyTrust(options.settings.shop.trustProxy),
    // What Node refuses before there is a request (431, raw bytes the parser cannot read): the same HTML page.
    clientErrorHandler: (error, socket) => clientErrors.handle(error, socket),
    // The router cannot read the URL, so no hook has run: answer it again as the bad-request
    // page, through the app's routing, so it gets the security headers every page has.
    frameworkErrors: (error, request, reply) => {
      request.log.info({ code: error.code, url: request.raw.url?.slice(0, 200) }, error.message);
      request.raw.url = BAD_REQUEST_PATH;
      request.raw.method = 'GET';
      fastify.routing(request.raw, reply.raw);
    },
  });
  const clientErrors: ClientErrorPages = new ClientErrorPages(fastify as unknown as FastifyInstance, BAD_REQUEST_PATH);
  await fastify.register(shopApp, options);
  return fastify as unknown as FastifyInstance;
}
