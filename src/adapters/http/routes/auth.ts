import type { FastifyInstance } from 'fastify';
import { newCustomerId, USERNAME_MAX_LENGTH, usernameSchema } from '../../../domain/order.js';
import { endSession, startSession } from '../plugins/session.js';

/** Login with any name (a fresh customer id each time), and logout. */
export default async function authRoutes(fastify: FastifyInstance) {
  fastify.get('/', async (request, reply) => reply.redirect(request.customer ? '/menu' : '/login', 303));

  fastify.get('/login', async (_request, reply) =>
    reply.page('login', { title: 'Log in', maxLength: USERNAME_MAX_LENGTH }),
  );

  fastify.post('/login', async (request, reply) => {
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
    const customer = { customerId: newCustomerId(), username: parsed.data };
    startSession(reply, customer);
    request.log.info({ customerId: customer.customerId }, 'customer logged in');
    return reply.redirect('/menu', 303);
  });

  fastify.post('/logout', async (_request, reply) => {
    endSession(reply);
    return reply.redirect('/login', 303);
  });
}
