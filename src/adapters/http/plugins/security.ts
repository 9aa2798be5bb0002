import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** Forms here are a few hundred bytes; anything much bigger is not a customer. */
export const FORM_BODY_LIMIT = 16 * 1024;

/** Cookies, form bodies, CSRF on every POST, and security headers with a self-only CSP. */
export default fp(
  async function security(fastify: FastifyInstance, options: { secret: string }) {
    await fastify.register(fastifyCookie, { secret: options.secret });
    await fastify.register(fastifyFormbody, { bodyLimit: FORM_BODY_LIMIT });
    await fastify.register(fastifyCsrf, {
      cookieKey: 'pizza_csrf',
      cookieOpts: { path: '/', sameSite: 'lax', httpOnly: true, signed: true, secure: 'auto' },
      // The token travels in a hidden form field, or a header for scripts; never in a URL.
      getToken: (request: FastifyRequest) => {
        const body = request.body as Record<string, unknown> | undefined;
        const fromBody = body?.[CSRF_FIELD];
        if (typeof fromBody === 'string') return fromBody;
        const fromHeader = request.headers[CSRF_HEADER];
        return typeof fromHeader === 'string' ? fromHeader : undefined;
      },
    });
    await fastify.register(fastifyHelmet, {
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
      // The shop is often served over plain HTTP on a laptop; HSTS there only confuses.
      strictTransportSecurity: false,
    });
    // The body must be parsed before the token in it can be checked, hence preHandler.
    fastify.addHook('preHandler', (request, reply, done) => {
      if (request.method !== 'POST') return done();
      fastify.csrfProtection(request, reply, done);
    });
  },
  { name: 'security' },
);
