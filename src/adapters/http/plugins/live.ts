import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { LiveFeed } from '../live-feed.js';
import { FLOW_SERVICES } from '../presenters.js';

/** The shared poller behind every event stream, and the streams' shutdown. */
export default fp(
  async function live(fastify: FastifyInstance, options: { intervalMs: number; log: Logger }) {
    const feed = new LiveFeed({
      store: fastify.shop.store,
      roles: FLOW_SERVICES,
      intervalMs: options.intervalMs,
      log: options.log.child({ component: 'live-feed' }),
      // Made at app start: a restart may rebuild the view with other numbers, so it counts as another view.
      viewId: randomBytes(6).toString('hex'),
    });
    const streams = new Set<() => void>();
    fastify.decorate('live', feed);
    fastify.decorate('trackStream', (end: () => void) => {
      streams.add(end);
      return () => streams.delete(end);
    });
    fastify.decorate('endStreams', () => {
      for (const end of [...streams]) end();
      streams.clear();
    });
    // Open streams would keep the server from closing: end them first.
    fastify.addHook('preClose', async () => fastify.endStreams());
    fastify.addHook('onClose', async () => feed.close());
  },
  { name: 'live' },
);
