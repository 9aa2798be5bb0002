/**
 * The web path's own ceiling: a fastify app (the project's version) with one
 * route that does nothing but answer as the order form does, a 303 to an
 * order page. Run as its own process, as `pizza all` is; prints its port.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
// The form body is read (as the shop's must be) and not parsed further.
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
  done(null, body),
);
app.post('/orders', async (_request, reply) => reply.redirect('/orders/0badcafe', 303));

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ address })}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
