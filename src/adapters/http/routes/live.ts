import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { isComplete } from '../../../domain/statuses.js';
import { ORDER_LOGS_COMPONENT } from '../../logs/order-log-line.js';
import type { StoredLogLine } from '../../sqlite/order-log-store.js';
import type { OrderView } from '../../sqlite/orders-store.js';
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
import { myOrdersLiveQuery, orderLiveQuery, orderLogsParams, orderParams } from '../schemas.js';
import { orderNotFound, ownedOrder, requireCustomer } from './customer-orders.js';

/** Late log lines of a finished order (the log topic trails the status view) still reach an open page. */
const LINGER_AFTER_COMPLETE_MS = 3_000;

/**
 * What a cursor sent by a page is worth here: nothing when it names another view.
 * Read here rather than in @fastify/sse's `replay()`, which hears only the
 * Last-Event-ID header, not the `?last=` of a page that opens a new stream or polls.
 */
function resumeFrom(lastEventId: unknown, last: string | undefined, viewId: string): Cursor | undefined {
  const cursor = parseCursor(typeof lastEventId === 'string' ? lastEventId : last);
  return cursor?.viewId === viewId ? cursor : undefined;
}

export default async function liveRoutes(app: FastifyInstance) {
  const fastify = app.withTypeProvider<ZodTypeProvider>();
  const { settings, store, orderLogs } = fastify.shop;
  const { viewId } = fastify.live;
  const rows = (lines: StoredLogLine[]) =>
    logRows(
      lines.map((stored) => stored.line),
      { timeScale: settings.shop.timeScale },
    );
  /** The order's newest change number in this view; 0 before its first status. */
  const statusSeqOf = (orderId: string) => store.statusSeq(orderId);
  const complete = (order: OrderView) => order.placement === 'placed' && isComplete(settings.statuses, order.status);

  /** Log lines for a page: only those after its cursor, or the latest ones when it has none. */
  const logsAfter = (orderId: string, service: FlowService, afterSeq: number) => {
    if (afterSeq > 0) {
      const lines = orderLogs.linesAfter(orderId, service, afterSeq);
      return { append: true, lines };
    }
    return { append: false, lines: orderLogs.latestLines(orderId, service) };
  };

  // "My orders": pushes the status of this customer's orders as they change, until all are finished.
  fastify.get('/orders/live', { sse: 'only', schema: { querystring: myOrdersLiveQuery } }, async (request, reply) => {
    const customer = request.customer;
    const session = request.shopSession;
    if (!customer || !session) return reply.code(404).type('text/plain').send('Not found');
    const allDone = () => store.listOrders(customer.customerId).every(complete);
    // 204 tells the browser's EventSource to stop reconnecting: nothing here will change again.
    if (allDone()) return reply.code(204).send();
    const resumed = resumeFrom(reply.sse.lastEventId, request.query.last, viewId);
    const stream = fastify.streams.open(request, reply, session.sessionId);
    if (!stream) return reply;
    let seq = store.latestStatusSeq();
    const id = () => formatCursor({ viewId, statusSeq: seq, logSeq: 0 });
    stream.send('hello', { viewId, resumed: resumed !== undefined }, id());
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
  fastify.get(
    '/orders/:orderId/live',
    { sse: 'only', schema: { params: orderParams, querystring: orderLiveQuery } },
    async (request, reply) => {
      const { orderId } = request.params;
      const order = ownedOrder(fastify, request.customer, orderId);
      const session = request.shopSession;
      if (!order || !session) return reply.code(404).type('text/plain').send('Not found');
      const { service } = request.query;
      const resumed = resumeFrom(reply.sse.lastEventId, request.query.last, viewId);
      const statusSeq = statusSeqOf(orderId);
      const upToDate = resumed !== undefined && resumed.statusSeq >= statusSeq;
      if (
        complete(order) &&
        upToDate &&
        (!service || orderLogs.linesAfter(orderId, service, resumed.logSeq).length === 0)
      )
        return reply.code(204).send();

      const stream = fastify.streams.open(request, reply, session.sessionId);
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
  fastify.get(
    '/orders/:orderId/state.json',
    { schema: { params: orderParams, querystring: orderLiveQuery } },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const { orderId } = request.params;
      const order = ownedOrder(fastify, request.customer, orderId);
      if (!order) return reply.code(404).send({ error: 'not found' });
      const { service } = request.query;
      const resumed = resumeFrom(request.headers['last-event-id'], request.query.last, viewId);
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
  fastify.get(
    '/orders/:orderId/logs/:service',
    { preValidation: requireCustomer, schema: { params: orderLogsParams } },
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
