import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CUSTOMER_ID_PATTERN, usernameSchema } from '../../domain/order.js';
import type { Session } from './context.js';

/** 128 random bits, base64url: what a logout revokes, on every web host. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** A session id as this app makes them (22 characters), with room for longer ones. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;

// Short keys: the cookie rides on every request.
const payloadSchema = z.object({
  s: z.string().regex(SESSION_ID_PATTERN),
  c: z.string().regex(CUSTOMER_ID_PATTERN),
  u: usernameSchema,
  e: z.number().int().positive(),
});

/** The cookie's value before signing: base64url JSON of the session id, the customer and the expiry. */
export function encodeSessionCookie(session: Session): string {
  const payload = {
    s: session.sessionId,
    c: session.customer.customerId,
    u: session.customer.username,
    e: session.expiresAt,
  };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/** The session a (verified) cookie value carries; undefined when it is not one, or has expired by `now`. */
export function decodeSessionCookie(value: string, now: number): Session | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const result = payloadSchema.safeParse(parsed);
  if (!result.success || result.data.e <= now) return undefined;
  const { s, c, u, e } = result.data;
  return { sessionId: s, customer: { customerId: c, username: u }, expiresAt: e };
}
