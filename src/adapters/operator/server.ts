import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Settings } from '../../config/settings.js';
import type { Bus } from '../bus/bus.js';
import { listAndReplay } from '../bus/dead-letter.js';
import type { ShopMetrics } from '../metrics/shop-metrics.js';
import { operatorHosts, refusal } from './request-guard.js';

export interface ReadinessCheck {
  name: string;
  /** Undefined when ready; else why not, in words. */
  notReady(): string | undefined;
}

export interface OperatorServerOptions {
  settings: Settings;
  bus: Bus;
  metrics: ShopMetrics;
  log: Logger;
  checks: () => readonly ReadinessCheck[];
  /** Refreshes gauges that are read on demand (orders by status, lag) before a scrape. */
  beforeScrape?: () => Promise<void>;
}

export interface OperatorServer {
  url: string;
  close(): Promise<void>;
}

/** `POST /dead-letters/replay`'s body: the ids `GET /dead-letters` lists. */
const replayRequest = z.object({
  ids: z
    .array(z.string().regex(/^\d+:\d+$/))
    .min(1)
    .max(10_000),
});

/**
 * The operators' address, apart from the customers' one: Prometheus metrics,
 * a liveness and a readiness probe, and the dead letters (the only way to see
 * them on the embedded bus). It binds to 127.0.0.1 unless told otherwise.
 */
export async function startOperatorServer(options: OperatorServerOptions): Promise<OperatorServer> {
  const { settings, bus, metrics } = options;
  const app: FastifyInstance = Fastify({ logger: false });
  // Known once the port is bound (operator_port 0 picks one); nothing is answered before.
  let hosts: ReadonlySet<string> = new Set();
  app.addHook('onRequest', async (request, reply) => {
    const refused = refusal(request.headers, hosts);
    if (refused) return reply.code(refused.statusCode).send({ error: refused.error });
  });
  // JSON bodies only: a page can send text/plain or a form across origins without asking, never JSON.
  app.removeContentTypeParser('text/plain');

  app.get('/metrics', async (_request, reply) => {
    metrics.kafkaUp.set(bus.connectivity().up ? 1 : 0);
    await options.beforeScrape?.().catch((err: unknown) => options.log.warn({ err }, 'could not refresh some metrics'));
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // Liveness: the process answers. Restarting it would not fix a broker outage, so that is readiness's business.
  app.get('/health', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('ok'));

  // Readiness: connected to the bus and joined to each group (a member with no partitions is ready too).
  app.get('/ready', async (_request, reply) => {
    const problems: Record<string, string> = {};
    const connectivity = bus.connectivity();
    if (!connectivity.up) problems.kafka = `unreachable since ${new Date(connectivity.since).toISOString()}`;
    for (const check of options.checks()) {
      const reason = check.notReady();
      if (reason) problems[check.name] = reason;
    }
    const ready = Object.keys(problems).length === 0;
    return reply.code(ready ? 200 : 503).send({ ready, problems });
  });

  app.get('/dead-letters', async (_request, reply) => {
    const { entries } = await listAndReplay(bus, settings.topics.deadLetter);
    return reply.send({ topic: settings.topics.deadLetter, entries });
  });

  app.post('/dead-letters/replay', async (request, reply) => {
    const parsed = replayRequest.safeParse(request.body);
    if (!parsed.success) {
      return reply
        .code(400)
        .send({ error: 'send {"ids": ["partition:offset", ...]} as listed by GET /dead-letters, as application/json' });
    }
    const result = await listAndReplay(bus, settings.topics.deadLetter, parsed.data.ids);
    if (result.unknown.length > 0)
      return reply.code(404).send({ error: `no dead letter ${result.unknown.join(', ')}` });
    return reply.send({ replayed: result.replayed });
  });

  await app.listen({ host: settings.shop.operatorHost, port: settings.shop.operatorPort });
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound ? bound.port : settings.shop.operatorPort;
  hosts = operatorHosts(settings.shop.operatorHost, port);
  const host = settings.shop.operatorHost.includes(':')
    ? `[${settings.shop.operatorHost}]`
    : settings.shop.operatorHost;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}
