import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

/** Prometheus metrics in a registry of this app's own, so two apps in one process don't collide. */
export default fp(
  async function metrics(fastify: FastifyInstance) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'pizza_web_' });
    fastify.decorate('metrics', {
      registry,
      ordersPlaced: new Counter({ name: 'pizza_orders_placed_total', help: 'Orders placed', registers: [registry] }),
      ordersRejected: new Counter({
        name: 'pizza_orders_rejected_total',
        help: 'Orders refused: a bad form, or the bus unavailable',
        labelNames: ['reason'] as const,
        registers: [registry],
      }),
    });
  },
  { name: 'metrics' },
);
