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
/** Signed session cookies remembered as verified (a few hundred bytes each). */
const VERIFIED_COOKIES = 10_000;
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
    const verified = new VerifiedCookies(csrfKey, VERIFIED_COOKIES);
    fastify.decorateRequest('customer', undefined);
    fastify.decorateRequest('shopSession', undefined);
    fastify.decorateRequest('session', null as unknown as CsrfSecretHolder);
    // A callback hook: it never waits, and an async one costs a promise per request.
    fastify.addHook('onRequest', (request, reply, done) => {
      const cookie = request.cookies[SESSION_COOKIE];
      const known = cookie ? readSession(fastify, request, verified, cookie) : undefined;
      // A cookie that no longer works goes, so the browser stops sending it.
      if (!known && cookie !== undefined) endSession(reply);
      request.shopSession = known?.session;
      request.customer = known?.session.customer;
      request.session = new CsrfSecret(request, reply, csrfKey, known);
      done();
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

/**
 * The session a cookie carries, when it is valid now: signed by this shop, not
 * expired, not logged out. Expiry and logout are checked on every request; the
 * signature and the decoding only the first time this exact cookie is seen.
 */
function readSession(
  fastify: FastifyInstance,
  request: FastifyRequest,
  verified: VerifiedCookies,
  cookie: string,
): VerifiedSession | undefined {
  const now = fastify.shop.clock.now();
  let known = verified.get(cookie);
  if (!known) {
    const unsigned = request.unsignCookie(cookie);
    if (!unsigned.valid || unsigned.value === null) return undefined;
    const session = decodeSessionCookie(unsigned.value, now);
    if (!session) return undefined;
    known = verified.remember(cookie, session);
  }
  if (known.session.expiresAt <= now) {
    verified.forget(cookie);
    return undefined;
  }
  return fastify.sessions.isRevoked(known.session.sessionId) ? undefined : known;
}

/** A session whose cookie's signature was checked, and its CSRF secret. */
interface VerifiedSession {
  session: Session;
  csrfSecret: string;
}

/**
 * Session cookies whose signature this app has checked, by their exact signed
 * value: the same string verifies the same way again under the same secret,
 * so only the first request of a session pays for the HMAC, the base64 and the
 * schema. Bounded; the oldest goes first, and is merely checked again if it
 * comes back. Holds nothing that decides whether a session is still good.
 */
class VerifiedCookies {
  private readonly sessions = new Map<string, VerifiedSession>();

  constructor(
    private readonly csrfKey: Buffer,
    private readonly capacity: number,
  ) {}

  get(cookie: string): VerifiedSession | undefined {
    return this.sessions.get(cookie);
  }

  remember(cookie: string, session: Session): VerifiedSession {
    if (this.sessions.size >= this.capacity) {
      const oldest = this.sessions.keys().next();
      if (!oldest.done) this.sessions.delete(oldest.value);
    }
    const known = { session, csrfSecret: sessionCsrfSecret(this.csrfKey, session.sessionId) };
    this.sessions.set(cookie, known);
    return known;
  }

  forget(cookie: string): void {
    this.sessions.delete(cookie);
  }
}

/** A logged-in session's CSRF secret: derived from its id, so it is good for that session alone. */
function sessionCsrfSecret(key: Buffer, sessionId: string): string {
  return createHmac('sha256', key).update(sessionId).digest('base64url');
}

/**
 * The CSRF secret @fastify/csrf-protection checks tokens against. Logged in,
 * it is derived from the session id, so a token is good for one session only:
 * an attacker's own cookie and token never pass for the victim's session, and
 * a logout ends its tokens with it. Before login it is a random secret in a
 * signed cookie (the login form's protection).
 */
class CsrfSecret implements CsrfSecretHolder {
  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly key: Buffer,
    private readonly known: VerifiedSession | undefined,
  ) {}

  get(): string | undefined {
    const session = this.request.shopSession;
    if (session)
      return session === this.known?.session ? this.known.csrfSecret : sessionCsrfSecret(this.key, session.sessionId);
    const cookie = this.request.cookies[CSRF_COOKIE];
    if (!cookie) return undefined;
    const unsigned = this.request.unsignCookie(cookie);
    return unsigned.valid && unsigned.value ? unsigned.value : undefined;
  }

  set(_name: string, secret: string): void {
    // Only asked for when `get` found none, which a session always has.
    if (!this.request.shopSession) this.reply.setCookie(CSRF_COOKIE, secret, COOKIE_OPTIONS);
  }

  options(): void {}
}
