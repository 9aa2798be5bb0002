import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { CUSTOMER_ID_PATTERN, usernameSchema } from '../../../domain/order.js';
import type { Customer } from '../context.js';

const SESSION_COOKIE = 'pizza_session';

/** The logged-in customer rides in a signed, httpOnly cookie: nothing to store server-side. */
export default fp(
  async function session(fastify: FastifyInstance) {
    fastify.decorateRequest('customer', undefined);
    fastify.addHook('onRequest', async (request) => {
      request.customer = readSession(request);
    });
  },
  { name: 'session', dependencies: ['security'] },
);

export function startSession(reply: FastifyReply, customer: Customer): void {
  const value = Buffer.from(JSON.stringify({ c: customer.customerId, u: customer.username })).toString('base64url');
  // Secure whenever the request came over TLS (directly, or through a proxy trusted by trust_proxy).
  reply.setCookie(SESSION_COOKIE, value, { path: '/', httpOnly: true, sameSite: 'lax', signed: true, secure: 'auto' });
}

export function endSession(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}

function readSession(request: FastifyRequest): Customer | undefined {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8')) as {
      c?: unknown;
      u?: unknown;
    };
    const username = usernameSchema.safeParse(parsed.u);
    if (typeof parsed.c !== 'string' || !CUSTOMER_ID_PATTERN.test(parsed.c) || !username.success) return undefined;
    return { customerId: parsed.c, username: username.data };
  } catch {
    return undefined;
  }
}
