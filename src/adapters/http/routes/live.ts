import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ORDER_LOGS_COMPONENT } from '../../logs/order-log-line.js';
import type { StoredLogLine } from '../../sqlite/order-log-store.js';
import { isFlowService, logRows, orderStatusView, statusView, timelineRows } from '../presenters.js';
import { orderNotFound, ownedOrder, requireCustomer } from './orders.js';

const HEARTBEAT_MS = 15_000;
/** Open live streams one customer may hold: several tabs, but not an amplifier (each reads the stores). */
export const MAX_STREAMS_PER_CUSTOMER = 8;

interface EventStream {
  send(event: string, data: unknown): void;
  /** Runs when the stream ends, whoever ends it. */
  onEnd(cleanup: () => void): void;
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
    send(event, data) {
      // JSON has no raw newlines, so one data line carries the whole message.
      if (!ended) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    onEnd(cleanup) {
      cleanups.push(cleanup);
    },
  };
}

export default async function liveRoutes(fastify: FastifyInstance) {
  const { settings, store, orderLogs } = fastify.shop;
  const openStreams = new Map<string, number>();
  /** Counts a customer's stream; false when they hold too many already. */
  const claimStream = (customerId: string, stream: () => EventStream): EventStream | undefined => {
    const open = openStreams.get(customerId) ?? 0;
    if (open >= MAX_STREAMS_PER_CUSTOMER) return undefined;
    openStreams.set(customerId, open + 1);
    const claimed = stream();
    claimed.onEnd(() => {
      const left = (openStreams.get(customerId) ?? 1) - 1;
      if (left > 0) openStreams.set(customerId, left);
      else openStreams.delete(customerId);
    });
    return claimed;
  };
  const tooMany = (reply: FastifyReply) =>
    reply.code(429).type('text/plain').send('Too many live pages open; close some tabs.');
  const rows = (lines: StoredLogLine[]) => logRows(lines.map((stored) => stored.line));

  // "My orders": pushes the status of this customer's orders as they change.
  fastify.get('/orders/live', async (request, reply) => {
    const customer = request.customer;
    if (!customer) return reply.code(404).type('text/plain').send('Not found');
    const stream = claimStream(customer.customerId, () => openStream(fastify, request, reply));
    if (!stream) return tooMany(reply);
    stream.onEnd(
      fastify.live.onStatus((change) => {
        if (ownedOrder(fastify, customer, change.orderId)) {
          stream.send('status', statusView(settings, change.orderId, change.status));
        }
      }),
    );
  });

  // One order: its status and timeline as they change, and one service's log lines.
  fastify.get<{ Params: { orderId: string }; Querystring: { service?: string } }>(
    '/orders/:orderId/live',
    async (request, reply) => {
      const { orderId } = request.params;
      const order = ownedOrder(fastify, request.customer, orderId);
      if (!order) return reply.code(404).type('text/plain').send('Not found');
      const requested = request.query.service ?? '';
      const service = isFlowService(requested) ? requested : undefined;
      const stream = claimStream(order.customerId, () => openStream(fastify, request, reply));
      if (!stream) return tooMany(reply);

      const sendTimeline = () => stream.send('timeline', timelineRows(settings, store.listEvents(orderId)));
      // The newest line sent: after the first push of the latest lines, each push carries only newer ones.
      let sentSeq: number | undefined;
      // Runs from the feed's callbacks: it must never throw.
      const sendLogs = () => {
        if (!service) return;
        try {
          if (sentSeq === undefined) {
            const lines = orderLogs.latestLines(orderId, service);
            sentSeq = lines.at(-1)?.seq ?? 0;
            stream.send('logs', { service, append: false, rows: rows(lines) });
            return;
          }
          for (;;) {
            const lines = orderLogs.linesAfter(orderId, service, sentSeq);
            if (lines.length === 0) return;
            sentSeq = lines.at(-1)?.seq ?? sentSeq;
            stream.send('logs', { service, append: true, rows: rows(lines) });
          }
        } catch (err) {
          // Not published as a line about the order: it is about the page, and would feed back into it.
          request.log.warn(
            { err, orderId, service, component: ORDER_LOGS_COMPONENT },
            'could not read log lines for a live page; trying again on the next change',
          );
        }
      };

      stream.send('status', orderStatusView(settings, order));
      sendTimeline();
      stream.onEnd(
        fastify.live.onStatus((change) => {
          if (change.orderId !== orderId) return;
          stream.send('status', statusView(settings, orderId, change.status));
          sendTimeline();
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

  // One service's log lines about one order, as a page of its own.
  fastify.get<{ Params: { orderId: string; service: string } }>(
    '/orders/:orderId/logs/:service',
    { preHandler: requireCustomer },
    async (request, reply) => {
      const { orderId, service } = request.params;
      const order = ownedOrder(fastify, request.customer, orderId);
      if (!order || !isFlowService(service)) return orderNotFound(reply, orderId);
      return reply.page('logs', {
        title: `Logs of ${service} for order ${orderId}`,
        orderId,
        service,
        logs: rows(orderLogs.latestLines(orderId, service)),
      });
    },
  );
}
