import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Settings } from '../../../config/settings.js';
import { type CancelOutcome, cancelOutcomeOf, mayRequestCancel } from '../../../domain/cancel.js';
import { encodeEvent } from '../../../domain/events.js';
import { isComplete } from '../../../domain/statuses.js';
import type { OrdersStore, OrderView } from '../../sqlite/orders-store.js';
import type { Customer } from '../context.js';
import { orderParams } from '../schemas.js';
import { orderNotFound, ownedOrder, requireCustomer } from './customer-orders.js';

/** What the order page's cancel partial (`templates/partials/cancel.hbs`) shows. */
export interface CancelPanel {
  orderId: string;
  /** The form is shown: the order is placed and its pizza not yet out of the oven. */
  offered: boolean;
  /** The outcome the roles announced, as the view recorded it. */
  outcome: CancelOutcome | undefined;
  /** What the customer reads, if anything. */
  message: string | undefined;
}

export const CANCEL_MESSAGES = {
  cancelled: 'Your order has been cancelled.',
  refused: 'Too late to cancel: your pizza is already out for delivery.',
  requested: 'We asked the kitchen to stop your pizza. This page shows the answer as soon as it comes.',
} as const;

/**
 * The cancel panel of an order's page, from the orders view alone: the
 * outcome is what the roles announced on the outcome topic, never a guess from
 * the status. `requested` is true right after this customer asked (the
 * redirect's `?cancel=requested`), until the outcome arrives.
 */
export function cancelPanel(settings: Settings, store: OrdersStore, order: OrderView, requested = false): CancelPanel {
  const outcome = cancelOutcomeOf(store.listEvents(order.orderId), settings.topics.cancelled, settings.statuses);
  const eventStatus = store.getStatus(order.orderId)?.eventStatus ?? order.status;
  const offered =
    order.placement === 'placed' &&
    outcome === undefined &&
    !requested &&
    mayRequestCancel(settings.statuses, eventStatus);
  const message =
    outcome !== undefined
      ? CANCEL_MESSAGES[outcome]
      : requested && !isComplete(settings.statuses, eventStatus)
        ? CANCEL_MESSAGES.requested
        : undefined;
  return { orderId: order.orderId, offered, outcome, message };
}

/**
 * `POST /orders/:orderId/cancel`: the customer asks to cancel their order.
 * CSRF is checked on every POST by the security plugin; only the order's owner
 * may ask (anyone else gets the same 404 as for an order that does not exist).
 * The web app publishes the request and goes back to the order page; the
 * roles decide the outcome (see `domain/cancel.ts`), and the page shows it once
 * the status view has it.
 */
export default async function cancelRoutes(app: FastifyInstance) {
  const fastify = app.withTypeProvider<ZodTypeProvider>();
  const { settings, store, bus, clock } = fastify.shop;

  fastify.post(
    '/orders/:orderId/cancel',
    { preValidation: requireCustomer, schema: { params: orderParams } },
    async (request, reply) => {
      const customer = request.customer as Customer;
      const order = ownedOrder(fastify, customer, request.params.orderId);
      if (!order) return orderNotFound(reply, request.params.orderId);
      const status = store.getStatus(order.orderId);
      // Delivered or cancelled already: there is nothing left to ask.
      if (status && isComplete(settings.statuses, status.eventStatus)) {
        return reply.redirect(`/orders/${order.orderId}`, 303);
      }
      try {
        await bus.publish(
          settings.topics.cancelRequested,
          order.orderId,
          encodeEvent({ timestamp: clock.now(), customer_id: customer.customerId }),
        );
      } catch (err) {
        request.log.error({ err, orderId: order.orderId }, 'could not publish a cancel request');
        return reply.page(
          'error',
          {
            title: 'Not cancelled',
            heading: 'Your order was not cancelled',
            message: 'The kitchen could not be reached just now. Your order goes on; try cancelling again in a moment.',
          },
          503,
        );
      }
      request.log.info({ orderId: order.orderId }, 'cancel requested by the customer');
      return reply.redirect(`/orders/${order.orderId}?cancel=requested`, 303);
    },
  );
}
