import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  newOrderId,
  ORDER_ID_PATTERN,
  type Order,
  type PizzaChoice,
  pizzaChoiceSchema,
} from '../../../domain/order.js';
import { isIdempotencyKey, type OrderView } from '../../sqlite/orders-store.js';
import type { Customer } from '../context.js';
import { formatCursor } from '../live-feed.js';
import {
  estimate,
  FLOW_SERVICES,
  type FlowService,
  flowCaption,
  isFlowService,
  logRows,
  orderPage,
  timelineRows,
} from '../presenters.js';
import { cancelPanel } from './cancel.js';

/** The pages a customer must be logged in for send everyone else to the login page. */
export async function requireCustomer(request: FastifyRequest, reply: FastifyReply) {
  if (!request.customer) return reply.redirect('/login', 303);
}

/** An order, if it exists and belongs to this customer; strangers cannot tell the two apart. */
export function ownedOrder(
  fastify: FastifyInstance,
  customer: Customer | undefined,
  orderId: string,
): OrderView | undefined {
  if (!customer || !ORDER_ID_PATTERN.test(orderId)) return undefined;
  const order = fastify.shop.store.getOrder(orderId);
  // An order whose customer was told it was not placed is not theirs to see.
  return order && order.customerId === customer.customerId && order.placement !== 'failed' ? order : undefined;
}

export function orderNotFound(reply: FastifyReply, orderId: string) {
  return reply.page('not-found', { title: 'Order not found', orderId: orderId.slice(0, 40) }, 404);
}

interface ChoiceForm {
  sauce?: unknown;
  cheese?: unknown;
  mainTopping?: unknown;
  extraToppings?: unknown;
  /** The menu page's random key: sending one form twice places one order. */
  idempotencyKey?: unknown;
}

function sameChoice(order: PizzaChoice, choice: PizzaChoice): boolean {
  return (
    order.sauce === choice.sauce &&
    order.cheese === choice.cheese &&
    order.mainTopping === choice.mainTopping &&
    order.extraToppings.join('\n') === choice.extraToppings.join('\n')
  );
}

export default async function orderRoutes(fastify: FastifyInstance) {
  const { settings, store } = fastify.shop;
  const choiceSchema = pizzaChoiceSchema(settings.menu);
  const menuPage = (reply: FastifyReply, extra: Record<string, unknown> = {}, statusCode = 200) => {
    // Never cached, so that Back shows a form with a fresh key rather than one already used.
    reply.header('cache-control', 'no-store');
    return reply.page(
      'menu',
      { title: 'Menu', menu: settings.menu, choice: { extraToppings: [] }, idempotencyKey: randomUUID(), ...extra },
      statusCode,
    );
  };

  fastify.get('/menu', { preHandler: requireCustomer }, async (_request, reply) => menuPage(reply));

  fastify.post('/orders', { preHandler: requireCustomer }, async (request, reply) => {
    const customer = request.customer as Customer;
    const form = (request.body ?? {}) as ChoiceForm;
    const extras = form.extraToppings;
    const choice = {
      sauce: form.sauce,
      cheese: form.cheese,
      mainTopping: form.mainTopping,
      // A form sends one checked box as a string and several as an array.
      extraToppings: extras === undefined ? [] : Array.isArray(extras) ? extras : [extras],
    };
    const key = form.idempotencyKey;
    if (key !== undefined && !isIdempotencyKey(key)) {
      fastify.metrics.ordersRejected.inc({ reason: 'invalid' });
      return menuPage(
        reply,
        { errors: ['This form was damaged on its way. Check your pizza and order again.'], choice },
        400,
      );
    }
    const parsed = choiceSchema.safeParse(choice);
    if (!parsed.success) {
      fastify.metrics.ordersRejected.inc({ reason: 'invalid' });
      const errors = [...new Set(parsed.error.issues.map((issue) => issue.message))];
      // The same key again: nothing was placed with it, and sending the corrected form twice still places one order.
      return menuPage(reply, { errors, choice, ...(key === undefined ? {} : { idempotencyKey: key }) }, 400);
    }

    // A client that sends no key (a script, a page from before keys) gets no protection against repeats.
    const idempotencyKey = key ?? randomUUID();
    const earlier = store.findByIdempotencyKey(customer.customerId, idempotencyKey);
    if (earlier && !sameChoice(earlier, parsed.data)) {
      fastify.metrics.ordersRejected.inc({ reason: 'invalid' });
      const message = `This form already placed order ${earlier.orderId}; this different pizza was not placed. Check it and place it again.`;
      return menuPage(reply, { errors: [message], choice: parsed.data }, 409);
    }

    const order: Order = {
      orderId: newOrderId((orderId) => store.getOrder(orderId) !== undefined, settings.shop.orderIdLength),
      customerId: customer.customerId,
      username: customer.username,
      ...parsed.data,
    };
    const outcome = await fastify.placement.place(order, idempotencyKey, fastify.closing);
    if (!outcome.placed) {
      fastify.metrics.ordersRejected.inc({ reason: 'unavailable' });
      return reply.page('unavailable', { title: 'Order not placed', choice: parsed.data, idempotencyKey }, 503);
    }
    if (outcome.again)
      request.log.info({ orderId: outcome.orderId }, 'the same form again: showing the order it placed');
    else fastify.metrics.ordersPlaced.inc();
    return reply.redirect(`/orders/${outcome.orderId}`, 303);
  });

  fastify.get('/orders', { preHandler: requireCustomer }, async (request, reply) => {
    const customer = request.customer as Customer;
    const orders = store.listOrders(customer.customerId).map((order) => orderPage(settings, order));
    return reply.page('orders', { title: 'My orders', orders, live: orders.some((order) => !order.complete) });
  });

  fastify.get<{ Querystring: { id?: string } }>(
    '/orders/lookup',
    { preHandler: requireCustomer },
    async (request, reply) => {
      const orderId = String(request.query.id ?? '')
        .trim()
        .toLowerCase();
      // An empty search is no search: back to the customer's orders, not a 404 with a blank id.
      if (orderId === '') return reply.redirect('/orders', 303);
      if (!ORDER_ID_PATTERN.test(orderId)) return orderNotFound(reply, orderId);
      return reply.redirect(`/orders/${orderId}`, 303);
    },
  );

  fastify.get<{ Params: { orderId: string }; Querystring: { service?: string; cancel?: string } }>(
    '/orders/:orderId',
    { preHandler: requireCustomer },
    async (request, reply) => {
      const order = ownedOrder(fastify, request.customer, request.params.orderId);
      if (!order) return orderNotFound(reply, request.params.orderId);
      const page = orderPage(settings, order);
      const requested = request.query.service ?? '';
      const service: FlowService = isFlowService(requested) ? requested : defaultService(page.stage);
      const lines = fastify.shop.orderLogs.latestLines(order.orderId, service);
      // Where this page starts from: its live stream sends only what comes after.
      const cursor = formatCursor({
        viewId: fastify.live.viewId,
        statusSeq: store.statusHistory(order.orderId).at(-1)?.seq ?? 0,
        logSeq: lines.at(-1)?.seq ?? 0,
      });
      // Never cached: "Order again" carries a fresh idempotency key each time the page is shown.
      reply.header('cache-control', 'no-store');
      return reply.page('order', {
        title: `Order ${order.orderId}`,
        order: page,
        service,
        services: FLOW_SERVICES,
        statusSource: settings.shop.statusSource,
        flowCaption: flowCaption(fastify.shop.bus.kind),
        cancel: cancelPanel(settings, store, order, request.query.cancel === 'requested'),
        estimate: estimate(settings, order),
        timeline: timelineRows(settings, store.listEvents(order.orderId)),
        logs: logRows(
          lines.map((stored) => stored.line),
          { timeScale: settings.shop.timeScale },
        ),
        cursor,
        viewId: fastify.live.viewId,
        again: { choice: order, idempotencyKey: randomUUID() },
      });
    },
  );
}

/** Until the customer picks one, the logs shown are those of the service at work. */
function defaultService(stage: ReturnType<typeof orderPage>['stage']): FlowService {
  if (stage === 'delivered') return 'deliver';
  if (stage === 'trouble') return 'status';
  if (stage === 'placing') return 'serve';
  return stage;
}
