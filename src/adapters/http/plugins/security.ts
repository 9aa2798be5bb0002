import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { TrustedProxies } from '../../../config/trust-proxy.js';
import { PizzaError } from '../../../errors.js';

export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** Forms here are a few hundred bytes; anything much bigger is not a customer. */
export const FORM_BODY_LIMIT = 16 * 1024;

/** What a refused login throws: the error handler shows it as a page. */
export class TooManyRequestsError extends PizzaError {
  readonly statusCode = 429;
  constructor(readonly retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', `Too many requests from one address; retry in ${retryAfterSeconds} s`);
    this.name = 'TooManyRequestsError';
  }
}

/**
 * fastify's `trustProxy` for `trust_proxy`. A hop count is a function: fastify
 * 5 reads a bare number as "trust nothing". Hop 0 is the peer of the socket,
 * hop 1 the right-most X-Forwarded-For entry, and so on; the client is the
 * first hop not trusted. The shop must then be reachable only through its
 * proxies, or a client that goes around them names its own address.
 */
export function proxyTrust(trusted: TrustedProxies): false | string[] | ((address: string, hop: number) => boolean) {
  if (trusted === false) return false;
  if ('addresses' in trusted) return [...trusted.addresses];
  const { hops } = trusted;
  return (_address, hop) => hop < hops;
}

const HELMET_OPTIONS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
    },
  },
  // As frame-ancestors 'none' says, for browsers that read only the older header.
  xFrameOptions: { action: 'deny' },
  // The shop is often served over plain HTTP on a laptop; HSTS there only confuses.
  strictTransportSecurity: false,
};

/**
 * The headers helmet sets with HELMET_OPTIONS, asked of it once. They are the
 * same on every answer, and @fastify/helmet would build helmet and parse the
 * policy again for each request (a few percent of a POST's CPU).
 */
async function securityHeaders(): Promise<[string, string | number | readonly string[]][]> {
  const probe = Fastify({ logger: false });
  await probe.register(fastifyHelmet, HELMET_OPTIONS);
  probe.get('/', async (_request, reply) => reply.raw.getHeaders());
  try {
    const response = await probe.inject({ method: 'GET', url: '/' });
    const set = response.json<Record<string, string | number | string[]>>();
    // Never serve pages without a policy because a helmet upgrade changed how it sets headers.
    if (!String(set['content-security-policy'] ?? '').includes("default-src 'self'"))
      throw new Error(`helmet set no content security policy: ${JSON.stringify(set)}`);
    return Object.entries(set);
  } finally {
    await probe.close();
  }
}

/**
 * Cookies, form bodies, CSRF on every POST, security headers with a
 * self-only CSP, and rate limits for the routes that ask for one.
 */
export default fp(
  async function security(fastify: FastifyInstance, options: { secret: string }) {
    await fastify.register(fastifyCookie, { secret: options.secret });
    await fastify.register(fastifyFormbody, { bodyLimit: FORM_BODY_LIMIT });
    // Limits per client address (the forwarded one behind a trusted proxy), per web host, on the
    // routes that set `config.rateLimit`. Checked on request, before a body is read.
    await fastify.register(fastifyRateLimit, {
      global: false,
      errorResponseBuilder: (_request, context) => new TooManyRequestsError(Math.ceil(context.ttl / 1000)),
    });
    await fastify.register(fastifyCsrf, {
      // The secret lives where the session plugin says (request.session): derived from the
      // session once logged in, so a token is good for that session only; see plugins/session.ts.
      sessionPlugin: '@fastify/secure-session',
      sessionKey: 'csrf',
      // The token travels in a hidden form field, or a header for scripts; never in a URL.
      getToken: (request: FastifyRequest) => {
        const body = request.body as Record<string, unknown> | undefined;
        const fromBody = body?.[CSRF_FIELD];
        if (typeof fromBody === 'string') return fromBody;
        const fromHeader = request.headers[CSRF_HEADER];
        return typeof fromHeader === 'string' ? fromHeader : undefined;
      },
    });
    const headers = await securityHeaders();
    // On the raw answer, as helmet sets them: event streams write their head themselves.
    fastify.addHook('onRequest', (_request, reply, done) => {
      for (const [name, value] of headers) reply.raw.setHeader(name, value);
      done();
    });
    // After the body is parsed (the token may be in it), before a route's schema reads the form:
    // a forged request learns nothing about what the form would accept.
    fastify.addHook('preValidation', (request, reply, done) => {
      if (request.method !== 'POST') return done();
      fastify.csrfProtection(request, reply, done);
    });
  },
  { name: 'security' },
);
