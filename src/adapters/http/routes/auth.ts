import type { FastifyInstance } from 'fastify';
import { newCustomerId, USERNAME_MAX_LENGTH, usernameSchema } from '../../../domain/order.js';
import { logOut, startSession } from '../plugins/session.js';

const MINUTE_MS = 60_000;

/** Login with any name (a fresh customer id each time), and logout on every web host. */
export default async function authRoutes(fastify: FastifyInstance) {
  const { settings } = fastify.shop;

  fastify.get('/', async (request, reply) => reply.redirect(request.customer ? '/menu' : '/login', 303));

  fastify.get('/login', async (_request, reply) =>
    reply.page('login', { title: 'Log in', maxLength: USERNAME_MAX_LENGTH }),
  );

  fastify.post(
    '/login',
    // Each login is a new session with its own stream allowance: one address may not make them without end.
    { config: { rateLimit: { max: settings.shop.loginRatePerMinute, timeWindow: MINUTE_MS } } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const parsed = usernameSchema.safeParse(body.username);
      if (!parsed.success) {
        return reply.page(
          'login',
          {
            title: 'Log in',
            maxLength: USERNAME_MAX_LENGTH,
            username: typeof body.username === 'string' ? body.username.slice(0, 64) : '',
            error: parsed.error.issues[0]?.message ?? 'Enter a name.',
          },
          400,
        );
      }
      // Logging in again ends the session this browser had.
      if (request.shopSession) await logOut(fastify, reply, request.shopSession);
      const customer = { customerId: newCustomerId(), username: parsed.data };
      startSession(fastify, reply, customer);
      request.log.info({ customerId: customer.customerId }, 'customer logged in');
      return reply.redirect('/menu', 303);
    },
  );

  fastify.post('/logout', async (request, reply) => {
    if (request.shopSession) await logOut(fastify, reply, request.shopSession);
    return reply.redirect('/login', 303);
  });
}
