import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  DELIVERY_NOTE_MAX_LENGTH,
  DELIVERY_NOTE_MAX_UNITS,
  nameCharacters,
  newOrderId,
  ORDER_ID_PATTERN,
  type Order,
  type PizzaChoice,
} from '../../../domain/order.js';
import { OrderAdmission } from '../admission.js';
import type { Customer } from '../context.js';
import { formatCursor } from '../live-feed.js';
import {
  estimate,
  expectedWait,
  FLOW_SERVICES,
  type FlowService,
  flowCaption,
  logRows,
  orderPage,
  timelineRows,
} from '../presenters.js';
import {
  type InvalidFormPage,
  lookupQuery,
  orderForm,
  orderPageQuery,
  orderParams,
  sentBoxes,
  sentText,
} from '../schemas.js';
import { cancelAskedBy, cancelPanel } from './cancel.js';
import { orderNotFound, ownedOrder, requireCustomer } from './customer-orders.js';

/** The note's limit for the page: in characters for the hint, in UTF-16 units (what maxlength counts) for the browser. */
const NOTE_LIMITS = { maxLength: DELIVERY_NOTE_MAX_LENGTH, maxUnits: DELIVERY_NOTE_MAX_UNITS };

type FormChoice = PizzaChoice & Pick<Order, 'deliveryNote'>;

function sameChoice(order: FormChoice, choice: FormChoice): boolean {
  return (
    (order.deliveryNote ?? '') === (choice.deliveryNote ?? '') &&
    order.sauce === choice.sauce &&
    order.cheese === choice.cheese &&
    order.mainTopping === choice.mainTopping &&
    order.extraToppings.join('\n') === choice.extraToppings.join('\n')
  );
}

export default async function orderRoutes(app: FastifyInstance) {
  const fastify = app.withTypeProvider<ZodTypeProvider>();
  const { settings, store } = fastify.shop;
  // Off for the benchmark and the test helpers, which order far faster than people do.
  const admission = settings.shop.admission.enabled ? new OrderAdmission(fastify, settings) : undefined;
  const menuPage = (reply: FastifyReply, extra: Record<string, unknown> = {}, statusCode = 200) => {
    // Never cached, so that Back shows a form with a fresh key rather than one already used.
    reply.header('cache-control', 'no-store');
    return reply.page(
      'menu',
      {
        title: 'Menu',
        menu: settings.menu,
        deliveryNote: NOTE_LIMITS,
        choice: { extraToppings: [] },
        idempotencyKey: randomUUID(),
        ...extra,
      },
      statusCode,
    );
  };

  fastify.get('/menu', { preValidation: requireCustomer }, async (_request, reply) => menuPage(reply));

  /** The menu again with what was wrong; the valid choices stay checked, and a good key is kept. */
  const invalidOrder: InvalidFormPage = async (request, reply, problems) => {
    fastify.metrics.ordersRejected.inc({ reason: 'invalid' });
    const form = request.body;
    const choice = {
      sauce: sentText(form, 'sauce'),
      cheese: sentText(form, 'cheese'),
      mainTopping: sentText(form, 'mainTopping'),
      extraToppings: sentBoxes(form, 'extraToppings'),
      // Cut by characters, never inside an emoji: shown again to be corrected, not kept.
      deliveryNote: nameCharacters(sentText(form, 'deliveryNote') ?? '')
        .slice(0, DELIVERY_NOTE_MAX_LENGTH * 2)
        .join(''),
    };
    const errors = [...new Set(problems.map((problem) => problem.message))];
    const key = problems.some((problem) => problem.field === 'idempotencyKey')
      ? undefined
      : sentText(form, 'idempotencyKey');
    // The same key again: nothing was placed with it, and sending the corrected form twice still places one order.
    return menuPage(reply, { errors, choice, ...(key === undefined ? {} : { idempotencyKey: key }) }, 400);
  };

  fastify.post(
    '/orders',
    {
      ...(admission ? { onRequest: admission.rateLimits } : {}),
      preValidation: requireCustomer,
      schema: { body: orderForm(settings.menu) },
      config: { invalidForm: invalidOrder },
    },
    async (request, reply) => {
      const customer = request.customer as Customer;
      const { idempotencyKey: key, ...choice } = request.body;
      // A client that sends no key (a script, a page from before keys) gets no protection against repeats,
      // and a key made here has placed nothing yet.
      const idempotencyKey = key ?? randomUUID();
      const earlier = key === undefined ? undefined : store.findByIdempotencyKey(customer.customerId, key);
      if (earlier && !sameChoice(earlier, choice)) {
        fastify.metrics.ordersRejected.inc({ reason: 'invalid' });
        const message = `This form already placed order ${earlier.orderId}; this different order was not placed. Check it and place it again.`;
        return menuPage(reply, { errors: [message], choice }, 409);
      }
      // A form that already placed its order shows it again whatever the queue; a new one waits for room.
      const kitchen = earlier ? undefined : admission?.kitchen();
      if (kitchen && !kitchen.admitted) {
        fastify.metrics.ordersRejected.inc({ reason: 'busy' });
        reply.header('retry-after', kitchen.retryAfterSeconds);
        return reply.page(
          'busy',
          { title: 'The kitchen is busy', retryAfterSeconds: kitchen.retryAfterSeconds, choice, idempotencyKey },
          503,
        );
      }

      const order: Order = {
        orderId: newOrderId((orderId) => store.getOrder(orderId) !== undefined, settings.shop.orderIdLength),
        customerId: customer.customerId,
        username: customer.username,
        ...choice,
      };
      const outcome = await fastify.placement.place(order, idempotencyKey, fastify.closing);
      if (!outcome.placed) {
        fastify.metrics.ordersRejected.inc({ reason: 'unavailable' });
        return reply.page('unavailable', { title: 'Order not placed', choice, idempotencyKey }, 503);
      }
      if (outcome.again)
        request.log.info({ orderId: outcome.orderId }, 'the same form again: showing the order it placed');
      else {
        fastify.metrics.ordersPlaced.inc();
        admission?.noteAccepted(outcome.orderId);
      }
      return reply.redirect(`/orders/${outcome.orderId}`, 303);
    },
  );

  fastify.get('/orders', { preValidation: requireCustomer }, async (request, reply) => {
    const customer = request.customer as Customer;
    const orders = store.listOrders(customer.customerId).map((order) => orderPage(settings, order));
    return reply.page('orders', { title: 'My orders', orders, live: orders.some((order) => !order.complete) });
  });

  fastify.get(
    '/orders/lookup',
    { preValidation: requireCustomer, schema: { querystring: lookupQuery } },
    async (request, reply) => {
      const orderId = (request.query.id ?? '').trim().toLowerCase();
      // An empty search is no search: back to the customer's orders, not a 404 with a blank id.
      if (orderId === '') return reply.redirect('/orders', 303);
      if (!ORDER_ID_PATTERN.test(orderId)) return orderNotFound(reply, orderId);
      return reply.redirect(`/orders/${orderId}`, 303);
    },
  );

  fastify.get(
    '/orders/:orderId',
    { preValidation: requireCustomer, schema: { params: orderParams, querystring: orderPageQuery } },
    async (request, reply) => {
      const order = ownedOrder(fastify, request.customer, request.params.orderId);
      if (!order) return orderNotFound(reply, request.params.orderId);
      const page = orderPage(settings, order);
      const ownTime = estimate(settings, order);
      const queue = page.complete ? undefined : admission?.queueFor(order.orderId);
      const service: FlowService = request.query.service ?? defaultService(page.stage);
      const lines = fastify.shop.orderLogs.latestLines(order.orderId, service);
      // Where this page starts from: its live stream sends only what comes after.
      const cursor = formatCursor({
        viewId: fastify.live.viewId,
        statusSeq: store.statusSeq(order.orderId),
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
        cancel: cancelPanel(settings, store, order, cancelAskedBy(request, order.orderId)),
        estimate: ownTime,
        expectedWait: queue && expectedWait(queue, ownTime),
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
