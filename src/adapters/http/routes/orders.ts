import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { encodeEvent, orderedEvent } from '../../../domain/events.js';
import { newOrderId, ORDER_ID_PATTERN, type Order, pizzaChoiceSchema } from '../../../domain/order.js';
import { readOrderLog } from '../../logs/log-reader.js';
import type { OrderView } from '../../sqlite/orders-store.js';
import type { Customer } from '../context.js';
import {
  FLOW_SERVICES,
  type FlowService,
  isFlowService,
  logRows,
  orderPage,
  statusView,
  timelineRows,
} from '../presenters.js';

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
  return order && order.customerId === customer.customerId ? order : undefined;
}

export function orderNotFound(reply: FastifyReply, orderId: string) {
  return reply.page('not-found', { title: 'Order not found', orderId: orderId.slice(0, 40) }, 404);
}

interface ChoiceForm {
  sauce?: unknown;
  cheese?: unknown;
  mainTopping?: unknown;
  extraToppings?: unknown;
}

export default async function orderRoutes(fastify: FastifyInstance) {
  const { settings, store, bus, clock } = fastify.shop;
  const choiceSchema = pizzaChoiceSchema(settings.menu);
  const menuPage = (reply: FastifyReply, extra: Record<string, unknown> = {}, statusCode = 200) =>
    reply.page('menu', { title: 'Menu', menu: settings.menu, choice: { extraToppings: [] }, ...extra }, statusCode);

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
    const parsed = choiceSchema.safeParse(choice);
    if (!parsed.success) {
      fastify.metrics.ordersRejected.inc({ reason: 'invalid' });
      const errors = [...new Set(parsed.error.issues.map((issue) => issue.message))];
      return menuPage(reply, { errors, choice }, 400);
    }

    const order: Order = {
      orderId: newOrderId((orderId) => store.getOrder(orderId) !== undefined),
      customerId: customer.customerId,
      username: customer.username,
      ...parsed.data,
    };
    const now = clock.now();
    const status = settings.statuses.ids.order_placed;
    const log = request.log.child({ orderId: order.orderId });
    try {
      // The event goes first: an order the kitchen never hears of must not show as placed.
      await bus.publish(settings.topics.ordered, order.orderId, encodeEvent(orderedEvent(order, status, now)));
    } catch (err) {
      log.error({ err }, 'could not publish the order; it was not placed');
      fastify.metrics.ordersRejected.inc({ reason: 'unavailable' });
      return reply.page('unavailable', { title: 'Order not placed' }, 503);
    }
    store.placeOrder(order, { status, timestamp: now }, settings.statuses, now);
    fastify.metrics.ordersPlaced.inc();
    log.info(
      { sauce: order.sauce, cheese: order.cheese, mainTopping: order.mainTopping },
      'order placed, pizza-ordered published',
    );
    return reply.redirect(`/orders/${order.orderId}`, 303);
  });

  fastify.get('/orders', { preHandler: requireCustomer }, async (request, reply) => {
    const customer = request.customer as Customer;
    const orders = store.listOrders(customer.customerId).map((order) => orderPage(settings, order));
    return reply.page('orders', { title: 'My orders', orders });
  });

  fastify.get<{ Querystring: { id?: string } }>(
    '/orders/lookup',
    { preHandler: requireCustomer },
    async (request, reply) => {
      const orderId = String(request.query.id ?? '')
        .trim()
        .toLowerCase();
      if (!ORDER_ID_PATTERN.test(orderId)) return orderNotFound(reply, orderId);
      return reply.redirect(`/orders/${orderId}`, 303);
    },
  );

  fastify.get<{ Params: { orderId: string }; Querystring: { service?: string } }>(
    '/orders/:orderId',
    { preHandler: requireCustomer },
    async (request, reply) => {
      const order = ownedOrder(fastify, request.customer, request.params.orderId);
      if (!order) return orderNotFound(reply, request.params.orderId);
      const page = orderPage(settings, order);
      const requested = request.query.service ?? '';
      const service: FlowService = isFlowService(requested) ? requested : defaultService(page.stage);
      return reply.page('order', {
        title: `Order ${order.orderId}`,
        order: page,
        service,
        services: FLOW_SERVICES,
        statusSource: settings.shop.statusSource,
        timeline: timelineRows(settings, store.listEvents(order.orderId)),
        logs: logRows(await readOrderLog(settings.shop.logDir, service, order.orderId)),
        live: statusView(settings, order.orderId, order.status),
      });
    },
  );
}

/** Until the customer picks one, the logs shown are those of the service at work. */
function defaultService(stage: ReturnType<typeof orderPage>['stage']): FlowService {
  if (stage === 'delivered') return 'deliver';
  if (stage === 'trouble') return 'status';
  return stage;
}
