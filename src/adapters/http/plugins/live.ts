import { randomBytes } from 'node:crypto';
import fastifySseModule, { type SSEPluginOptions } from '@fastify/sse';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { LiveFeed } from '../live-feed.js';
import { LiveStreams } from '../live-streams.js';
import { FLOW_SERVICES } from '../presenters.js';

// Its types say ES default export, but the package is CommonJS: Node's default import is module.exports,
// the plugin wrapped by fastify-plugin (its `.default` is the bare plugin, whose hooks would stay encapsulated).
const fastifySse = fastifySseModule as unknown as FastifyPluginAsync<SSEPluginOptions>;
/** A comment line on every open stream this often, so that proxies and browsers keep an idle stream open. */
const HEARTBEAT_MS = 15_000;

/** Server-sent events (@fastify/sse), the shared poller behind every stream, and the streams' caps and shutdown. */
export default fp(
  async function live(fastify: FastifyInstance, options: { intervalMs: number; log: Logger }) {
    await fastify.register(fastifySse, { heartbeatInterval: HEARTBEAT_MS });
    const { settings, store } = fastify.shop;
    const feed = new LiveFeed({
      store,
      roles: FLOW_SERVICES,
      intervalMs: options.intervalMs,
      log: options.log.child({ component: 'live-feed' }),
      // Made at app start: a restart may rebuild the view with other numbers, so it counts as another view.
      viewId: randomBytes(6).toString('hex'),
    });
    const streams = new LiveStreams({
      perSession: settings.shop.streamsPerSession,
      perAddress: settings.shop.streamsPerAddress,
      total: settings.shop.streamsTotal,
    });
    fastify.decorate('live', feed);
    fastify.decorate('streams', streams);
    // Open streams would keep the server from closing: end them first.
    fastify.addHook('preClose', async () => streams.endAll());
    fastify.addHook('onClose', async () => feed.close());
  },
  { name: 'live' },
);
