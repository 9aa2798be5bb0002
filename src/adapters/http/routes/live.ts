import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isComplete } from '../../../domain/statuses.js';
import { ORDER_LOGS_COMPONENT } from '../../logs/order-log-line.js';
import type { StoredLogLine } from '../../sqlite/order-log-store.js';
import type { OrderView } from '../../sqlite/orders-store.js';
import type { Customer } from '../context.js';
import { type Cursor, formatCursor, parseCursor } from '../live-feed.js';
import {
  type FlowService,
  isFlowService,
  type LogRow,
  logRows,
  orderStatusView,
  statusView,
  timelineRows,
} from '../presenters.js';
import { orderNotFound, ownedOrder, requireCustomer } from './orders.js';

const HEARTBEAT_MS = 15_000;
/** Late log lines of a finished order (the log topic trails the status view) still reach an open page. */
const LINGER_AFTER_COMPLETE_MS = 3_000;
/** What a refused page is told to wait before it tries a stream again; it polls meanwhile. */
const RETRY_AFTER_SECONDS = 20;

interface EventStream {
  send(event: string, data: unknown, id?: string): void;
  /** Runs when the stream ends, whoever ends it. */
  onEnd(cleanup: () => void): void;
  end(): void;
}

/** Turns the reply into a server-sent event stream that ends with the client or the app. */
function openStream(fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply): EventStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write('retry: 2000\n\n');
  const cleanups: Array<() => void> = [];
  let ended = false;
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    untrack();
    for (const cleanup of cleanups) cleanup();
    raw.end();
  };
  const untrack = fastify.trackStream(end);
  request.raw.on('close', end);
  return {
    send(event, data, id) {
      // JSON has no raw newlines, so one data line carries the whole message.
      if (!ended)
        raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    onEnd(cleanup) {
      cleanups.push(cleanup);
    },
    end,
  };
}

export interface StreamCaps {
  perSession: number;
  perAddress: number;
  total: number;
}

/**
 * Counts open streams per customer session, per client address and in all.
 * Each open stream holds a listener on the feed and a socket: a cap keeps one
 * browser, one address or a crowd from turning the host into an amplifier.
 */
export class StreamBudget {
  private readonly bySession = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();
  private total = 0;

  constructor(private readonly caps: StreamCaps) {}

  /** Takes a slot; returns its release, or why there is none. */
  claim(sessionKey: string, address: string): { release: () => void } | { refused: string } {
    if ((this.bySession.get(sessionKey) ?? 0) >= this.caps.perSession) return { refused: 'session' };
    if ((this.byAddress.get(address) ?? 0) >= this.caps.perAddress) return { refused: 'address' };
    if (this.total >= this.caps.total) return { refused: 'total' };
    add(this.bySession, sessionKey, 1);
    add(this.byAddress, address, 1);
    this.total += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        add(this.bySession, sessionKey, -1);
        add(this.byAddress, address, -1);
        this.total -= 1;
      },
    };
  }

  get open(): number {
    return this.total;
  }
}

function add(counts: Map<string, number>, key: string, delta: number): void {
  const next = (counts.get(key) ?? 0) + delta;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}

/** What a cursor sent by a page is worth here: nothing when it names another view. */
function resumeFrom(request: FastifyRequest<{ Querystring: { last?: string } }>, viewId: string): Cursor | undefined {
  const cursor = parseCursor(request.headers['last-event-id'] ?? request.query.last);
  return cursor?.viewId === viewId ? cursor : undefined;
}

export default async function liveRoutes(fastify: FastifyInstance) {
  const { settings, store, orderLogs } = fastify.shop;
  const { viewId } = fastify.live;
  const budget = new StreamBudget({
    perSession: settings.shop.streamsPerSession,
    perAddress: settings.shop.streamsPerAddress,
    total: settings.shop.streamsTotal,
  });
  const rows = (lines: StoredLogLine[]) =>
    logRows(
      lines.map((stored) => stored.line),
      { timeScale: settings.shop.timeScale },
    );
  /** The order's newest change number in this view; 0 before its first status. */
  const statusSeqOf = (orderId: string) => store.statusHistory(orderId).at(-1)?.seq ?? 0;
  const complete = (order: OrderView) => order.placement === 'placed' && isComplete(settings.statuses, order.status);

  /** Opens a stream within the caps, or answers 429: the page then polls the state endpoint. */
  const claimStream = (request: FastifyRequest, reply: FastifyReply, customer: Customer): EventStream | undefined => {
    const slot = budget.claim(customer.customerId, request.ip);
    if ('refused' in slot) {
      request.log.info({ cap: slot.refused, open: budget.open }, 'live stream refused: too many open');
      void reply
        .code(429)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .header('cache-control', 'no-store')
        .type('text/plain; charset=utf-8')
        .send('Too many live pages open; this page checks for news every few seconds instead.');
      return undefined;
    }
    const stream = openStream(fastify, request, reply);
    stream.onEnd(slot.release);
    return stream;
  };

  /** Log lines for a page: only those after its cursor, or the latest ones when it has none. */
  const logsAfter = (orderId: string, service: FlowService, afterSeq: number) => {
    if (afterSeq > 0) {
      const lines = orderLogs.linesAfter(orderId, service, afterSeq);
      return { append: true, lines };
    }
    return { append: false, lines: orderLogs.latestLines(orderId, service) };
  };

  // "My orders": pushes the status of this customer's orders as they change, until all are finished.
  fastify.get<{ Querystring: { last?: string } }>('/orders/live', async (request, reply) => {
    const customer = request.customer;
    if (!customer) return reply.code(404).type('text/plain').send('Not found');
    const allDone = () => store.listOrders(customer.customerId).every(complete);
    // 204 tells the browser's EventSource to stop reconnecting: nothing here will change again.
    if (allDone()) return reply.code(204).send();
    const stream = claimStream(request, reply, customer);
    if (!stream) return reply;
    let seq = store.latestStatusSeq();
    const id = () => formatCursor({ viewId, statusSeq: seq, logSeq: 0 });
    stream.send('hello', { viewId, resumed: resumeFrom(request, viewId) !== undefined }, id());
    // Whatever the page missed, resumed or not: one status per order is a small message.
    for (const order of store.listOrders(customer.customerId)) {
      stream.send('status', orderStatusView(settings, order), id());
    }
    stream.onEnd(
      fastify.live.onStatus((change) => {
        if (!ownedOrder(fastify, customer, change.orderId)) return;
        seq = change.seq;
        stream.send('status', statusView(settings, change.orderId, change.status), id());
        if (allDone()) {
          stream.send('end', {}, id());
          stream.end();
        }
      }),
    );
  });

  // One order: its status and timeline as they change, and one service's log lines.
  fastify.get<{ Params: { orderId: string }; Querystring: { service?: string; last?: string } }>(
    '/orders/:orderId/live',
    async (request, reply) => {
      const { orderId } = request.params;
      const order = ownedOrder(fastify, request.customer, orderId);
      if (!order || !request.customer) return reply.code(404).type('text/plain').send('Not found');
      const requested = request.query.service ?? '';
      const service = isFlowService(requested) ? requested : undefined;
      const resumed = resumeFrom(request, viewId);
      const statusSeq = statusSeqOf(orderId);
      const upToDate = resumed !== undefined && resumed.statusSeq >= statusSeq;
      if (
        complete(order) &&
        upToDate &&
        (!service || orderLogs.linesAfter(orderId, service, resumed.logSeq).length === 0)
      )
        return reply.code(204).send();

      const stream = claimStream(request, reply, request.customer);
      if (!stream) return reply;
      const cursor: Cursor = { viewId, statusSeq, logSeq: resumed?.logSeq ?? 0 };
      const id = () => formatCursor(cursor);

      const sendStatus = (view: ReturnType<typeof statusView>) => {
        stream.send('status', view, id());
        stream.send('timeline', timelineRows(settings, store.listEvents(orderId)), id());
        if (view.complete) finish();
      };
      let finishing: NodeJS.Timeout | undefined;
      const finish = () => {
        if (finishing) return;
        finishing = setTimeout(() => {
          stream.send('end', {}, id());
          stream.end();
        }, LINGER_AFTER_COMPLETE_MS);
      };
      stream.onEnd(() => clearTimeout(finishing));

      let firstLogs = !resumed || resumed.logSeq === 0;
      // Runs from the feed's callbacks: it must never throw.
      const sendLogs = () => {
        if (!service) return;
        try {
          for (;;) {
            const { append, lines } = logsAfter(orderId, service, firstLogs ? 0 : cursor.logSeq);
            if (!firstLogs && lines.length === 0) return;
            cursor.logSeq = lines.at(-1)?.seq ?? cursor.logSeq;
            const shown: LogRow[] = rows(lines);
            if (!append || shown.length > 0) stream.send('logs', { service, append, rows: shown }, id());
            if (firstLogs) {
              firstLogs = false;
              return;
            }
          }
        } catch (err) {
          // Not published as a line about the order: it is about the page, and would feed back into it.
          request.log.warn(
            { err, orderId, service, component: ORDER_LOGS_COMPONENT },
            'could not read log lines for a live page; trying again on the next change',
          );
        }
      };

      stream.send('hello', { viewId, resumed: resumed !== undefined }, id());
      if (upToDate) {
        if (complete(order)) finish();
      } else {
        sendStatus(orderStatusView(settings, order));
      }
      stream.onEnd(
        fastify.live.onStatus((change) => {
          if (change.orderId !== orderId) return;
          cursor.statusSeq = Math.max(cursor.statusSeq, change.seq);
          sendStatus(statusView(settings, orderId, change.status));
        }),
      );
      stream.onEnd(
        fastify.live.onLog((change) => {
          if (change.orderId === orderId && change.role === service) sendLogs();
        }),
      );
      sendLogs();
    },
  );

  // The same as the streams, for a page that could not have one (refused, or no EventSource): it polls.
  fastify.get<{ Params: { orderId: string }; Querystring: { service?: string; last?: string } }>(
    '/orders/:orderId/state.json',
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const { orderId } = request.params;
      const order = ownedOrder(fastify, request.customer, orderId);
      if (!order) return reply.code(404).send({ error: 'not found' });
      const requested = request.query.service ?? '';
      const service = isFlowService(requested) ? requested : undefined;
      const resumed = resumeFrom(request, viewId);
      const cursor: Cursor = { viewId, statusSeq: statusSeqOf(orderId), logSeq: resumed?.logSeq ?? 0 };
      let logs: { service: FlowService; append: boolean; rows: LogRow[] } | undefined;
      if (service) {
        const found = logsAfter(orderId, service, cursor.logSeq);
        cursor.logSeq = found.lines.at(-1)?.seq ?? cursor.logSeq;
        logs = { service, append: found.append, rows: rows(found.lines) };
      }
      return {
        id: formatCursor(cursor),
        viewId,
        resumed: resumed !== undefined,
        status: orderStatusView(settings, order),
        timeline: timelineRows(settings, store.listEvents(orderId)),
        logs,
      };
    },
  );

  fastify.get('/orders/state.json', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const customer = request.customer;
    if (!customer) return reply.code(404).send({ error: 'not found' });
    return {
      viewId,
      orders: store.listOrders(customer.customerId).map((order) => orderStatusView(settings, order)),
    };
  });

  // One service's log lines about one order, as a page of its own.
  fastify.get<{ Params: { orderId: string; service: string } }>(
    '/orders/:orderId/logs/:service',
    { preHandler: requireCustomer },
    async (request, reply) => {
      const { orderId, service } = request.params;
      const order = ownedOrder(fastify, request.customer, orderId);
      if (!order || !isFlowService(service)) return orderNotFound(reply, orderId);
      return reply.page('logs', {
        title: `What ${service} did with order ${orderId}`,
        orderId,
        service,
        logs: rows(orderLogs.latestLines(orderId, service)),
      });
    },
  );
}
