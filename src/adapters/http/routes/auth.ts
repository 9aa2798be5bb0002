import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { nameCharacters, newCustomerId, USERNAME_MAX_LENGTH, USERNAME_MAX_UNITS } from '../../../domain/order.js';
import { logOut, startSession } from '../plugins/session.js';
import { type InvalidFormPage, loginForm, sentText } from '../schemas.js';

const MINUTE_MS = 60_000;
/** The name's limit for the page: in characters for the hint, in UTF-16 units (what maxlength counts) for the browser. */
const NAME_LIMITS = { maxLength: USERNAME_MAX_LENGTH, maxUnits: USERNAME_MAX_UNITS };

/** The login form again, with what was wrong with the name and the name as typed. */
const invalidLogin: InvalidFormPage = async (request, reply, problems) =>
  reply.page(
    'login',
    {
      title: 'Log in',
      ...NAME_LIMITS,
      // Cut by characters, never inside an emoji.
      username: nameCharacters(sentText(request.body, 'username') ?? '')
        .slice(0, 64)
        .join(''),
      error: problems[0]?.message ?? 'Enter a name.',
    },
    400,
  );

/** Login with any name (a fresh customer id each time), and logout on every web host. */
export default async function authRoutes(app: FastifyInstance) {
  const fastify = app.withTypeProvider<ZodTypeProvider>();
  const { settings } = fastify.shop;

  fastify.get('/', async (request, reply) => reply.redirect(request.customer ? '/menu' : '/login', 303));

  fastify.get('/login', async (_request, reply) => reply.page('login', { title: 'Log in', ...NAME_LIMITS }));

  fastify.post(
    '/login',
    {
      schema: { body: loginForm },
      config: {
        // Each login is a new session with its own stream allowance: one address may not make them without end.
        rateLimit: { max: settings.shop.loginRatePerMinute, timeWindow: MINUTE_MS },
        invalidForm: invalidLogin,
      },
    },
    async (request, reply) => {
      // Logging in again ends the session this browser had.
      if (request.shopSession) await logOut(fastify, reply, request.shopSession);
      const customer = { customerId: newCustomerId(), username: request.body.username };
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
