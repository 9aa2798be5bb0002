import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ShopMetrics } from '../../metrics/shop-metrics.js';

/**
 * The web app counts orders in the process's metrics, which the operator
 * address serves (never the customers' port). An app built without them
 * (a test) gets a set of its own, so two apps in one process don't collide.
 */
export default fp(
  async function metrics(fastify: FastifyInstance, options: { metrics?: ShopMetrics }) {
    fastify.decorate('metrics', options.metrics ?? new ShopMetrics());
  },
  { name: 'metrics' },
);
