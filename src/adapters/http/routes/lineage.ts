import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DEMO_LOAD_LIMITS, DemoLoad, loadText } from '../../../lineage/demo-load.js';
import { LINEAGE_POLL_MS, LineageFeed } from '../../../lineage/feed.js';
import { ROLE_REPORT_TTL_MS } from '../../../lineage/observations.js';
import { lineagePage } from '../../../lineage/page.js';
import { lineagePlan } from '../../../lineage/plan.js';
import { lineageSourceFor } from '../../bus/lineage-source.js';
import { requireCustomer } from './customer-orders.js';

const LOAD_LIMITS = DEMO_LOAD_LIMITS;

const loadForm = z.object({
  orders: z.coerce.number().int().min(1).max(LOAD_LIMITS.maxOrders),
  rate: z.coerce.number().min(1).max(LOAD_LIMITS.maxRate),
});

/** The lineage page, its JSON for scripts and `pizza lineage --from`, and the demo-load form: a plugin the web app registers. */
export default async function lineageRoutes(fastify: FastifyInstance) {
  const { settings, bus } = fastify.shop;
  const log = fastify.log.child({ component: 'lineage' }) as unknown as Logger;
  const plan = lineagePlan(settings, { bus: bus.kind, reportTtlMs: ROLE_REPORT_TTL_MS });
  const feed = new LineageFeed({ plan, open: () => lineageSourceFor(bus, settings, plan, log), log });
  const load = new DemoLoad(fastify);
  fastify.addHook('preClose', async () => load.stop());
  fastify.addHook('onClose', async () => feed.close());

  const loadState = () => ({
    enabled: settings.shop.loadButton,
    running: load.running,
    total: load.total,
    placed: load.placed,
    failed: load.failed,
    text: loadText(load),
  });
  const render = async (reply: FastifyReply, extra: Record<string, unknown> = {}, statusCode = 200) => {
    const snapshot = await feed.current();
    reply.header('cache-control', 'no-store');
    return reply.page(
      'lineage',
      {
        title: 'Stream lineage',
        view: snapshot.model ? lineagePage(snapshot.model) : undefined,
        error: snapshot.error,
        busLabel: bus.kind === 'kafka' ? 'Kafka' : 'the embedded bus',
        sessionTimeoutSeconds: settings.shop.sessionTimeoutMs / 1000,
        pollSeconds: LINEAGE_POLL_MS / 1000,
        load: loadState(),
        limits: LOAD_LIMITS,
        ...extra,
      },
      statusCode,
    );
  };

  fastify.get('/lineage', { preHandler: requireCustomer }, async (_request, reply) => render(reply));

  fastify.get('/lineage.json', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.customer) return reply.code(401).send({ error: 'log in first' });
    const snapshot = await feed.current();
    reply.header('cache-control', 'no-store');
    return reply.send({
      model: snapshot.model ?? null,
      page: snapshot.model ? lineagePage(snapshot.model) : null,
      error: snapshot.error ?? null,
      load: loadState(),
    });
  });

  fastify.post('/lineage/load', { preHandler: requireCustomer }, async (request, reply) => {
    if (!settings.shop.loadButton) {
      return render(
        reply,
        { loadError: 'The load button is off: set [pizza-shop] load_button = true to use it.' },
        403,
      );
    }
    const parsed = loadForm.safeParse(request.body ?? {});
    if (!parsed.success) {
      const loadError = `Choose 1 to ${LOAD_LIMITS.maxOrders} orders at 1 to ${LOAD_LIMITS.maxRate} per second.`;
      return render(reply, { loadError }, 400);
    }
    if (load.running) return render(reply, { loadError: 'A burst is already running: wait for it to finish.' }, 409);
    load.start(parsed.data.orders, parsed.data.rate);
    request.log.info({ orders: parsed.data.orders, rate: parsed.data.rate }, 'demo load started from the lineage page');
    return reply.redirect('/lineage', 303);
  });
}
