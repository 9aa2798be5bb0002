import type { FastifyInstance } from 'fastify';

export default async function healthRoutes(fastify: FastifyInstance) {
  fastify.get('/health-check', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('Ok'));

  fastify.get('/metrics', async (_request, reply) =>
    reply.type(fastify.metrics.registry.contentType).send(await fastify.metrics.registry.metrics()),
  );
}
