import type { FastifyInstance } from 'fastify';

/** The load balancer's check. Metrics are on the operator address (adapters/operator/server.ts), not here. */
export default async function healthRoutes(fastify: FastifyInstance) {
  fastify.get('/health-check', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('Ok'));
}
