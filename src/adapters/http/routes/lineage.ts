import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  buildLineage,
  DEMO_LOAD_LIMITS,
  type LineageModel,
  type LineagePlan,
  type LineageSample,
  type LineageSource,
  lineagePlan,
  ROLE_REPORT_TTL_MS,
  type ServiceView,
} from '../../../domain/lineage.js';
import { newCustomerId, newOrderId, type Order } from '../../../domain/order.js';
import { lineageSourceFor } from '../../bus/lineage-source.js';
import { requireCustomer } from './orders.js';

/** Lineage is read from the bus at most this often, however many people look. */
export const LINEAGE_POLL_MS = 2_000;
/** With nobody looking for this long, the poller lets go of its Kafka clients. */
const IDLE_MS = 60_000;
const LOAD_LIMITS = DEMO_LOAD_LIMITS;

/** The figures from the bus, or why there are none. */
export interface LineageSnapshot {
  model: LineageModel | undefined;
  error: string | undefined;
}

/**
 * One poller per process, shared by every viewer: it opens its source when
 * someone looks, reads it at most once per interval (every viewer in between
 * gets the same snapshot), and closes it after a minute without viewers.
 */
export class LineageFeed {
  private source: LineageSource | undefined;
  private latest: LineageSnapshot | undefined;
  private latestAt = 0;
  private previous: LineageSample | undefined;
  private polling: Promise<LineageSnapshot> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly options: {
      plan: LineagePlan;
      open: () => Promise<LineageSource>;
      log: Logger;
      intervalMs?: number;
      idleMs?: number;
      now?: () => number;
    },
  ) {}

  current(): Promise<LineageSnapshot> {
    const now = this.now();
    this.keepAwake();
    if (this.latest && now - this.latestAt < (this.options.intervalMs ?? LINEAGE_POLL_MS)) {
      return Promise.resolve(this.latest);
    }
    this.polling ??= this.poll().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  /** Whether a source is open now (someone looked within the idle time). */
  get open(): boolean {
    return this.source !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    await this.polling?.catch(() => {});
    await this.release();
  }

  private async poll(): Promise<LineageSnapshot> {
    try {
      if (this.closed) throw new Error('the web app is closing');
      this.source ??= await this.options.open();
      const observations = await this.source.observe();
      const model = buildLineage(observations, this.options.plan, this.previous);
      this.previous = model.sample;
      this.latest = { model, error: undefined };
    } catch (err) {
      this.options.log.warn({ err }, 'could not read the stream lineage');
      const reason = err instanceof Error ? err.message : String(err);
      // The last figures stay on screen, marked as stale, rather than nothing.
      this.latest = { model: this.latest?.model, error: `The figures could not be read just now: ${reason}` };
    }
    this.latestAt = this.now();
    return this.latest;
  }

  private keepAwake(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.release(), this.options.idleMs ?? IDLE_MS);
    this.idleTimer.unref();
  }

  private async release(): Promise<void> {
    const source = this.source;
    this.source = undefined;
    this.previous = undefined;
    this.latest = undefined;
    await source?.close().catch((err: unknown) => this.options.log.debug({ err }, 'lineage source did not close'));
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** Demo orders at a steady rate, through the same placement path as a customer's. */
class DemoLoad {
  private readonly customerId = newCustomerId();
  private timer: NodeJS.Timeout | undefined;
  total = 0;
  placed = 0;
  failed = 0;

  constructor(private readonly fastify: FastifyInstance) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(orders: number, rate: number): void {
    this.total = orders;
    this.placed = 0;
    this.failed = 0;
    let started = 0;
    this.timer = setInterval(() => {
      if (started >= orders || this.fastify.closing.aborted) return this.stop();
      started += 1;
      void this.placeOne();
    }, 1000 / rate);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async placeOne(): Promise<void> {
    const { settings, store } = this.fastify.shop;
    const { menu } = settings;
    const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
    const extras = menu.extraToppings.filter(() => Math.random() < 0.25).slice(0, 3);
    const order: Order = {
      orderId: newOrderId((orderId) => store.getOrder(orderId) !== undefined, settings.shop.orderIdLength),
      customerId: this.customerId,
      username: 'demo',
      sauce: pick(menu.sauce),
      cheese: pick(menu.cheese),
      mainTopping: pick(menu.mainTopping),
      extraToppings: extras,
    };
    try {
      const outcome = await this.fastify.placement.place(order, randomUUID(), this.fastify.closing);
      if (outcome.placed) {
        this.placed += 1;
        this.fastify.metrics.ordersPlaced.inc();
      } else this.failed += 1;
    } catch {
      this.failed += 1;
    }
  }
}

const loadForm = z.object({
  orders: z.coerce.number().int().min(1).max(LOAD_LIMITS.maxOrders),
  rate: z.coerce.number().min(1).max(LOAD_LIMITS.maxRate),
});

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

function loadText(load: DemoLoad): string {
  if (load.total === 0) return '';
  const failed = load.failed > 0 ? `, ${load.failed} not placed` : '';
  return load.running
    ? `Placing demo orders: ${load.placed} of ${load.total} placed${failed}.`
    : `Last burst: ${load.placed} of ${load.total} demo orders placed${failed}.`;
}

const numberFormat = new Intl.NumberFormat('en');
const count = (value: number) => numberFormat.format(value);
const perSecond = (value: number | null) => (value === null ? '—' : `${value.toFixed(1)}/s`);

/** What the page shows, formatted once here for the template and for the page's script alike. */
export function lineagePage(model: LineageModel) {
  const topics = new Map(model.topics.map((topic) => [topic.name, topic]));
  const services = new Map(model.services.map((service) => [service.name, service]));
  const topicRow = (name: string) => {
    const topic = topics.get(name);
    return {
      name,
      exists: topic?.exists ?? false,
      partitions: topic?.exists ? `${topic.partitions} partition${topic.partitions === 1 ? '' : 's'}` : 'missing',
      perSecond: perSecond(topic?.perSecond ?? null),
      total: count(topic?.total ?? 0),
    };
  };
  const steps: Array<{ service?: ReturnType<typeof serviceCard>; topics?: Array<ReturnType<typeof topicRow>> }> = [];
  for (const service of model.services.filter((candidate) => candidate.name !== 'status')) {
    const card = serviceCard(service);
    // The web app is in no group that reads the journey: what it publishes is its flow.
    if (service.name === 'web') card.output = perSecond(topics.get(service.writes[0] ?? '')?.perSecond ?? null);
    steps.push({ service: card });
    steps.push({ topics: service.writes.map(topicRow) });
  }
  const status = services.get('status');
  if (status) steps.push({ service: serviceCard(status) });
  return {
    at: new Date(model.at).toISOString(),
    summary: model.summary,
    slow: model.bottleneck !== undefined,
    notes: model.notes,
    steps,
  };
}

function serviceCard(service: ServiceView) {
  const isStage = service.name !== 'web' && service.name !== 'flink';
  return {
    name: service.name,
    label: service.label,
    isStage,
    isFlink: service.name === 'flink',
    isWeb: service.name === 'web',
    bottleneck: service.bottleneck,
    instances:
      service.instances === null
        ? 'not a consumer group'
        : `${service.instances} instance${service.instances === 1 ? '' : 's'}`,
    reads: service.reads.join(', '),
    writes: service.writes.join(', '),
    inFlight: service.inFlight ?? 0,
    capacity: Math.max(1, service.capacity ?? 0),
    inFlightText: service.inFlight === null ? '—' : `${service.inFlight} / ${service.capacity}`,
    busy: service.busy,
    lag: count(service.lag),
    waiting: count(service.waiting),
    consumed: perSecond(service.consumedPerSecond),
    output: perSecond(service.outputPerSecond),
    lagByTopic: lagByTopic(service),
    groups: service.groups.map((group) => ({
      groupId: group.groupId,
      members: `${group.members} member${group.members === 1 ? '' : 's'}`,
      counted: group.counted,
      lag: count(group.lag),
      rows: group.topics.flatMap((topic) =>
        topic.partitions.map((partition) => ({
          topic: topic.topic,
          partition: partition.partition,
          committed: count(partition.committed),
          end: count(partition.end),
          lag: count(partition.lag),
        })),
      ),
    })),
  };
}

function lagByTopic(service: ServiceView): Array<{ topic: string; lag: string }> {
  const totals = new Map<string, number>();
  for (const group of service.groups.filter((candidate) => candidate.counted)) {
    for (const topic of group.topics) totals.set(topic.topic, (totals.get(topic.topic) ?? 0) + topic.lag);
  }
  return [...totals].map(([topic, lag]) => ({ topic, lag: count(lag) }));
}
