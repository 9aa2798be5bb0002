import { createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Clock } from '../../../domain/clock.js';
import type { CsrfSecretHolder, Customer, Session, SessionRevocations } from '../context.js';
import { decodeSessionCookie, encodeSessionCookie, newSessionId } from '../session-cookie.js';

const SESSION_COOKIE = 'pizza_session';
/** Before login, the CSRF secret lives in a signed cookie of its own. */
const CSRF_COOKIE = 'pizza_csrf';
const HOUR_MS = 3_600_000;
// Secure whenever the request came over TLS (directly, or through a proxy trusted by trust_proxy).
const COOKIE_OPTIONS = { path: '/', httpOnly: true, sameSite: 'lax', signed: true, secure: 'auto' } as const;

/**
 * The logged-in customer rides in a signed, httpOnly cookie that carries a
 * session id and an expiry; no web host stores sessions. A cookie is refused
 * when its signature is wrong, when it has expired, or when its session was
 * logged out on any web host (`fastify.sessions`). Every web host signs with
 * the same `[pizza-shop] session_secret`, so a session works on all of them.
 * Not @fastify/secure-session: it needs sodium-native (native) to encrypt what is not secret, and revoking would stay ours.
 */
export default fp(
  async function session(fastify: FastifyInstance, options: { secret: string }) {
    // A key of its own for CSRF secrets, so that a CSRF secret is never a cookie signature.
    const csrfKey = createHmac('sha256', options.secret).update('pizza csrf secrets').digest();
    fastify.decorateRequest('customer', undefined);
    fastify.decorateRequest('shopSession', undefined);
    fastify.decorateRequest('session', null as unknown as CsrfSecretHolder);
    fastify.addHook('onRequest', async (request, reply) => {
      const session = readSession(fastify, request);
      // A cookie that no longer works goes, so the browser stops sending it.
      if (!session && request.cookies[SESSION_COOKIE] !== undefined) endSession(reply);
      request.shopSession = session;
      request.customer = session?.customer;
      request.session = csrfSecretHolder(request, reply, csrfKey);
    });
  },
  { name: 'session', dependencies: ['security'] },
);

/** Starts a session for `customer` that lasts `[pizza-shop] session_hours`; returns it. */
export function startSession(fastify: FastifyInstance, reply: FastifyReply, customer: Customer): Session {
  const { clock, settings } = fastify.shop;
  const lifetimeMs = settings.shop.sessionHours * HOUR_MS;
  const session = { sessionId: newSessionId(), customer, expiresAt: clock.now() + lifetimeMs };
  reply.setCookie(SESSION_COOKIE, encodeSessionCookie(session), {
    ...COOKIE_OPTIONS,
    maxAge: Math.floor(lifetimeMs / 1000),
  });
  return session;
}

/** Logs a session out on every web host, ends its live streams on this one, and drops its cookie. */
export async function logOut(fastify: FastifyInstance, reply: FastifyReply, session: Session): Promise<void> {
  await fastify.sessions.revoke({ sessionId: session.sessionId, expiresAt: session.expiresAt });
  fastify.streams.endSession(session.sessionId);
  endSession(reply);
}

/** Logouts remembered by this app alone, until the sessions expire: for an app with no sessions topic (tests). */
export function inMemoryRevocations(clock: Clock): SessionRevocations {
  const revoked = new Map<string, number>();
  return {
    isRevoked(sessionId) {
      const expiresAt = revoked.get(sessionId);
      if (expiresAt !== undefined && expiresAt <= clock.now()) revoked.delete(sessionId);
      return revoked.has(sessionId);
    },
    async revoke({ sessionId, expiresAt }) {
      revoked.set(sessionId, expiresAt);
    },
  };
}

function endSession(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}

function readSession(fastify: FastifyInstance, request: FastifyRequest): Session | undefined {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return undefined;
  const session = decodeSessionCookie(unsigned.value, fastify.shop.clock.now());
  if (!session || fastify.sessions.isRevoked(session.sessionId)) return undefined;
  return session;
}

/**
 * The CSRF secret @fastify/csrf-protection checks tokens against. Logged in,
 * it is derived from the session id, so a token is good for one session only:
 * an attacker's own cookie and token never pass for the victim's session, and
 * a logout ends its tokens with it. Before login it is a random secret in a
 * signed cookie (the login form's protection).
 */
function csrfSecretHolder(request: FastifyRequest, reply: FastifyReply, key: Buffer): CsrfSecretHolder {
  return {
    get() {
      const session = request.shopSession;
      if (session) return createHmac('sha256', key).update(session.sessionId).digest('base64url');
      const cookie = request.cookies[CSRF_COOKIE];
      if (!cookie) return undefined;
      const unsigned = request.unsignCookie(cookie);
      return unsigned.valid && unsigned.value ? unsigned.value : undefined;
    },
    set(_name, secret) {
      // Only asked for when `get` found none, which a session always has.
      if (!request.shopSession) reply.setCookie(CSRF_COOKIE, secret, COOKIE_OPTIONS);
    },
    options() {},
  };
}
