import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ORDER_ID_PATTERN } from '../../../domain/order.js';
import type { OrderView } from '../../sqlite/orders-store.js';
import type { Customer } from '../context.js';

/**
 * What every route about a customer's own orders shares: the login check, the
 * owner check and the one "not found" page. A module of its own, so that the
 * order pages and the cancel route use it without importing each other.
 */

/**
 * The pages a customer must be logged in for send everyone else to the login page.
 * A preValidation hook: after the CSRF check, before the route's schema reads the form.
 */
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
