import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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

/** Left by the cancel POST on the order's own path: this session asked to cancel this order. */
const CANCEL_ASKED_COOKIE = 'pizza_cancel';
/** Far longer than any answer takes; the outcome, once in the view, is shown instead. */
const CANCEL_ASKED_SECONDS = 3600;

function rememberCancelAsked(reply: FastifyReply, sessionId: string, orderId: string): void {
  reply.setCookie(CANCEL_ASKED_COOKIE, `${sessionId}:${orderId}`, {
    path: `/orders/${orderId}`,
    httpOnly: true,
    sameSite: 'lax',
    signed: true,
    secure: 'auto',
    maxAge: CANCEL_ASKED_SECONDS,
  });
}

/**
 * Whether this session asked to cancel the order, by the signed cookie the
 * cancel POST left. Never from the URL: a link (`?cancel=requested`, say) would
 * then tell a customer their pizza was being stopped, and hide the button
 * that stops it, when nobody asked.
 */
export function cancelAskedBy(request: FastifyRequest, orderId: string): boolean {
  const cookie = request.cookies[CANCEL_ASKED_COOKIE];
  const session = request.shopSession;
  if (!cookie || !session) return false;
  const unsigned = request.unsignCookie(cookie);
  return unsigned.valid && unsigned.value === `${session.sessionId}:${orderId}`;
}

/**
 * The cancel panel of an order's page, from the orders view alone: the
 * outcome is what the roles announced on the outcome topic, never a guess from
 * the status. `requested` is true once this session has asked
 * (`cancelAskedBy`), until the outcome arrives.
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
      if (request.shopSession) rememberCancelAsked(reply, request.shopSession.sessionId, order.orderId);
      return reply.redirect(`/orders/${order.orderId}`, 303);
    },
  );
}
