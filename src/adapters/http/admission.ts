import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Settings } from '../../config/settings.js';
import { admitOrder, type KitchenAdmission, queueSeconds } from '../../domain/admission.js';
import { PizzaError } from '../../errors.js';
import type { ShopMetrics } from '../metrics/shop-metrics.js';
import type { OrderTimeline } from '../sqlite/order-timeline.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** How often the backlog is brought up to date from the view. */
const BACKLOG_REFRESH_MS = 1_000;
/** Status changes read per query, and at most per refresh: a big view at start is caught up over a few seconds. */
const CHANGES_PAGE = 1_000;
const CHANGES_PER_REFRESH = 50_000;

/** An order refused by a rate limit; the error handler shows `page`, with the Retry-After already set. */
export class TooManyOrdersError extends PizzaError {
  readonly statusCode = 429;
  readonly page: { heading: string; message: string };
  constructor(
    readonly retryAfterSeconds: number,
    readonly per: 'session' | 'address',
  ) {
    super('TOO_MANY_REQUESTS', `Too many orders from one ${per}; retry in ${retryAfterSeconds} s`);
    this.name = 'TooManyOrdersError';
    const who = per === 'session' ? 'You placed' : 'Your address placed';
    this.page = {
      heading: 'Too many orders',
      message: `${who} more orders in the last minute than one person does. Wait ${retryAfterSeconds} seconds, then try again.`,
    };
  }
}

/**
 * The orders waiting for the kitchen (placed, not yet baked), kept from this
 * host's own view: each refresh reads the status changes since the last one
 * (the view's change feed, by sequence number), so a POST asks nothing and a
 * refresh costs what changed, not what the view holds. An order this host
 * places counts at once, before the view has its status. An order the
 * watchdog shows as delayed counts by the stage its last event reached: in a
 * long queue, orders wait longer than the watchdog's timeout.
 */
export class KitchenBacklog {
  /** Order id to when its status last changed, in the order the orders joined: an order's place in the queue. */
  private readonly waiting = new Map<string, number>();
  private seenSeq = 0;
  private readonly waitingStatuses: ReadonlySet<number>;
  private readonly stuckStatus: number;

  constructor(
    private readonly timeline: Pick<OrderTimeline, 'stageChangesSince'>,
    statuses: Settings['statuses'],
    private readonly now: () => number,
    /** The view forgets an order's status this long after its last change, without a change to read: so does the count. */
    private readonly forgetAfterMs: number,
  ) {
    this.stuckStatus = statuses.ids.stuck;
    this.waitingStatuses = new Set([statuses.ids.order_placed, statuses.ids.pizza_assembled]);
  }

  get size(): number {
    return this.waiting.size;
  }

  refresh(): void {
    const now = this.now();
    for (let read = 0; read < CHANGES_PER_REFRESH; ) {
      const changes = this.timeline.stageChangesSince(this.seenSeq, CHANGES_PAGE);
      for (const { orderId, status, eventStatus, seq } of changes) {
        const stage = status === this.stuckStatus ? eventStatus : status;
        if (this.waitingStatuses.has(stage)) this.waiting.set(orderId, now);
        else this.waiting.delete(orderId);
        this.seenSeq = seq;
      }
      read += changes.length;
      if (changes.length < CHANGES_PAGE) break;
    }
    for (const [orderId, changedAt] of this.waiting) {
      if (now - changedAt > this.forgetAfterMs) this.waiting.delete(orderId);
    }
  }

  /** An order this host just placed: it waits from now, whatever the view says yet. */
  noteAccepted(orderId: string): void {
    if (!this.waiting.has(orderId)) this.waiting.set(orderId, this.now());
  }

  /** How many waiting orders joined before this one; undefined when it is not waiting (in the oven's past). */
  ahead(orderId: string): number | undefined {
    let before = 0;
    for (const id of this.waiting.keys()) {
      if (id === orderId) return before;
      before += 1;
    }
    return undefined;
  }
}

/**
 * Order admission for one web host: rate limits per session and per client
 * address (@fastify/rate-limit's counters), and the kitchen backlog bound.
 * Made by the order routes; `undefined` when `order_admission = false`.
 */
export class OrderAdmission {
  private readonly backlog: KitchenBacklog;
  private readonly timer: NodeJS.Timeout;
  private readonly perSession: ReturnType<FastifyInstance['createRateLimit']>;
  private readonly perAddress: ReturnType<FastifyInstance['createRateLimit']>;
  private readonly metrics: ShopMetrics;

  constructor(
    fastify: FastifyInstance,
    private readonly settings: Settings,
  ) {
    const { admission } = settings.shop;
    const { clock, store } = fastify.shop;
    this.metrics = fastify.metrics;
    const forgetAfterMs = settings.orders.statusRetentionHours * HOUR_MS;
    this.backlog = new KitchenBacklog(store.timeline, settings.statuses, () => clock.now(), forgetAfterMs);
    this.backlog.refresh();
    this.timer = setInterval(() => this.refresh(fastify), BACKLOG_REFRESH_MS);
    this.timer.unref();
    fastify.addHook('onClose', async () => clearInterval(this.timer));
    this.perSession = fastify.createRateLimit({
      max: admission.ordersPerSessionPerMinute,
      timeWindow: MINUTE_MS,
      keyGenerator: (request) => request.shopSession?.sessionId ?? '',
      // No session: the route sends the client to log in, and it places nothing.
      allowList: (request) => request.shopSession === undefined,
    });
    // Keyed on request.ip: the client's address, the forwarded one behind a trusted proxy.
    this.perAddress = fastify.createRateLimit({ max: admission.ordersPerAddressPerMinute, timeWindow: MINUTE_MS });
  }

  /**
   * The rate limits, as an onRequest hook: before the body is read. The session's
   * limit is counted first, so that one session's flood does not also spend the
   * allowance of the other people at its address.
   */
  readonly rateLimits = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    for (const [per, limit] of [
      ['session', this.perSession],
      ['address', this.perAddress],
    ] as const) {
      const counted = await limit(request);
      if (counted.isAllowed || !counted.isExceeded) continue;
      const retryAfterSeconds = Math.max(1, counted.ttlInSeconds);
      this.metrics.ordersRejected.inc({ reason: `too_many_per_${per}` });
      reply.header('retry-after', retryAfterSeconds);
      throw new TooManyOrdersError(retryAfterSeconds, per);
    }
  };

  /** Whether the kitchen takes one more order now. */
  kitchen(): KitchenAdmission {
    const { shop } = this.settings;
    return admitOrder(this.backlog.size, shop.admission.kitchenBacklogMax, shop.capacity, shop.timeScale);
  }

  noteAccepted(orderId: string): void {
    this.backlog.noteAccepted(orderId);
  }

  /**
   * Real seconds the order waits for a place in the kitchen, and the orders
   * before it; undefined once it is past the oven.
   */
  queueFor(orderId: string): { ahead: number; seconds: number } | undefined {
    const ahead = this.backlog.ahead(orderId);
    if (ahead === undefined) return undefined;
    const { shop } = this.settings;
    return { ahead, seconds: queueSeconds(ahead, shop.capacity) * shop.timeScale };
  }

  private refresh(fastify: FastifyInstance): void {
    try {
      this.backlog.refresh();
    } catch (error) {
      // A closed or busy file: the count stays as it was until the next refresh.
      fastify.log.warn({ err: error }, 'could not bring the kitchen backlog up to date');
    }
  }
}
