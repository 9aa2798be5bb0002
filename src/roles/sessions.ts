import type { Logger } from 'pino';
import { z } from 'zod';
import type { BusRecord, HostRead } from '../adapters/bus/bus.js';
import type { SessionRevocations } from '../adapters/http/context.js';
import { SESSION_ID_PATTERN } from '../adapters/http/session-cookie.js';
import type { Revocation, SessionStore } from '../adapters/sqlite/session-store.js';
import { PizzaError } from '../errors.js';
import { perHostGroupId, resolveHostId } from './host.js';
import type { RoleDeps } from './role.js';

/** Revocations applied at once; each is one small SQLite upsert. */
const CAPACITY = 64;
const PURGE_EVERY_MS = 60_000;
/** How long a logout waits for its revocation to reach the broker before answering anyway. */
const PUBLISH_WAIT_MS = 5_000;

const revocationSchema = z.object({
  sessionId: z.string().regex(SESSION_ID_PATTERN),
  expiresAt: z.number().int().positive(),
});

/** What goes on the sessions topic, keyed by the session id: `{sessionId, expiresAt}`. */
export function encodeRevocation(revocation: Revocation): Buffer {
  return Buffer.from(JSON.stringify({ sessionId: revocation.sessionId, expiresAt: Math.round(revocation.expiresAt) }));
}

/** Reads a record of the sessions topic; undefined when it is not a revocation (or its key disagrees with it). */
export function decodeRevocation(key: string | null, value: Buffer | null): Revocation | undefined {
  if (!key || !value) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  const result = revocationSchema.safeParse(parsed);
  return result.success && result.data.sessionId === key ? result.data : undefined;
}

export type AppliedRevocation = 'stored' | 'expired' | 'unreadable';

/**
 * Applies one record of the sessions topic to this host's copy. Applying it
 * twice is harmless; a session already past its expiry is skipped (its cookie
 * is refused for its age), and a record that is no revocation is skipped too.
 */
export function applySessionRecord(record: BusRecord, deps: { store: SessionStore; now: number }): AppliedRevocation {
  const revocation = decodeRevocation(record.key, record.value);
  if (!revocation) return 'unreadable';
  if (revocation.expiresAt <= deps.now) return 'expired';
  deps.store.revoke(revocation);
  return 'stored';
}

/** The id of this host's reader (once its consumer group's): it reads every partition. */
export function sessionGroupId(deps: Pick<RoleDeps, 'settings'>): string {
  return perHostGroupId(`${deps.settings.groupIds.status}-sessions`, resolveHostId(deps.settings));
}

async function sessionTopicExists(deps: Pick<RoleDeps, 'bus' | 'settings'>, log: Logger): Promise<boolean> {
  try {
    await deps.bus.requireTopics([deps.settings.topics.sessions]);
    return true;
  } catch (error) {
    if (!(error instanceof PizzaError && error.code === 'TOPICS_MISSING')) throw error;
    // Logging out still works on this host; the warning says what is missing for the others.
    log.warn(
      { topic: deps.settings.topics.sessions },
      `the sessions topic does not exist, so logging out ends a session on this web host only: ${error.message}`,
    );
    return false;
  }
}

export interface SessionProjection extends SessionRevocations {
  stop(): Promise<void>;
}

/**
 * Every web host's shared knowledge of logged-out sessions. A logout is
 * stored here at once and published to the sessions topic; every web host
 * (this one included) projects that topic into its own SQLite copy with a
 * host reader (every partition, no group), reading where its copy says it stopped, or from the start
 * for a new copy. Expired revocations are purged: their cookies are refused
 * for their age.
 */
export async function startSessionProjection(
  deps: Pick<RoleDeps, 'bus' | 'settings' | 'clock' | 'log'> & { store: SessionStore },
): Promise<SessionProjection> {
  const { bus, settings, clock, store } = deps;
  const log = deps.log.child({ component: 'sessions' });
  const topic = settings.topics.sessions;
  const shared = await sessionTopicExists(deps, log);

  const purge = () => {
    try {
      const purged = store.purge(clock.now());
      if (purged > 0) log.debug({ purged }, 'expired session revocations removed');
    } catch (err) {
      log.warn({ err }, 'could not remove expired session revocations; trying again later');
    }
  };
  purge();
  const timer = setInterval(purge, PURGE_EVERY_MS);
  timer.unref();

  let reader: HostRead | undefined;
  try {
    if (shared) {
      reader = await bus.read({
        id: sessionGroupId(deps),
        topics: [topic],
        capacity: CAPACITY,
        role: 'serve',
        log,
        handle: async (record) => {
          if (applySessionRecord(record, { store, now: clock.now() }) === 'unreadable') {
            log.debug({ partition: record.partition, offset: record.offset }, 'skipped a record that is no revocation');
          }
        },
        // A partition this copy never read starts from the beginning: a host that lost its file must not miss a logout.
        startAt: (partitions) => {
          const stored = store.storedPositions(partitions);
          return partitions.map((partition) => {
            const found = stored.find(
              (position) => position.partition === partition.partition && position.topic === partition.topic,
            );
            return { ...partition, from: found ? { offset: found.offset } : 'beginning' };
          });
        },
        onPosition: (position) => {
          try {
            store.savePosition(position);
          } catch (err) {
            // At worst a restart reads a few revocations again, which changes nothing.
            log.debug({ err, ...position }, 'could not remember the sessions topic position');
          }
        },
      });
    }
  } catch (error) {
    clearInterval(timer);
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    isRevoked: (sessionId) => store.isRevoked(sessionId),
    async revoke(revocation) {
      // This host refuses the cookie at once; the others once they read the topic.
      store.revoke(revocation);
      if (!shared) return;
      const publishing = bus.publish(topic, revocation.sessionId, encodeRevocation(revocation)).then(
        () => true,
        (err: unknown) => {
          log.error(
            { err },
            'could not publish a logout: other web hosts accept that session until it expires or is logged out again',
          );
          return true;
        },
      );
      // A broker outage must not hold the customer's logout: the publish goes on without them.
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), PUBLISH_WAIT_MS);
      });
      const published = await Promise.race([publishing, waited]);
      clearTimeout(timer);
      if (!published) log.warn('a logout is still being published to the other web hosts');
    },
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        await reader?.stop();
      })();
      return stopping;
    },
  };
}
