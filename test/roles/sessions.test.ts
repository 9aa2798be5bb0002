import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { BusRecord } from '../../src/adapters/bus/bus.js';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { SessionStore } from '../../src/adapters/sqlite/session-store.js';
import type { Settings } from '../../src/config/settings.js';
import { systemClock } from '../../src/domain/clock.js';
import {
  applySessionRecord,
  decodeRevocation,
  encodeRevocation,
  sessionGroupId,
  startSessionProjection,
} from '../../src/roles/sessions.js';
import { testSettings } from '../support/settings.js';
import { waitFor } from '../support/shop.js';

const SESSION = 'AAAAAAAAAAAAAAAAAAAAAA';
const OTHER = 'BBBBBBBBBBBBBBBBBBBBBB';
const log = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function record(key: string | null, value: Buffer | null, offset = '0'): BusRecord {
  return { topic: 'pizza-sessions', partition: 0, offset, key, keyBytes: null, value, timestamp: 0, headers: {} };
}

function hostSettings(hostId?: string): Settings {
  const fixture = testSettings();
  cleanups.push(fixture.cleanup);
  return { ...fixture.settings, shop: { ...fixture.settings.shop, hostId } };
}

function openStore(settings: Settings): SessionStore {
  const store = SessionStore.open(join(settings.shop.dataDir, settings.orders.fileName));
  cleanups.push(() => store.close());
  return store;
}

async function project(bus: EmbeddedBus, settings: Settings, store: SessionStore) {
  const projection = await startSessionProjection({ bus, settings, clock: systemClock, log, store });
  cleanups.push(() => projection.stop());
  return projection;
}

describe('a revocation on the sessions topic', () => {
  it('is {sessionId, expiresAt} keyed by the session id, and anything else is not one', () => {
    const value = encodeRevocation({ sessionId: SESSION, expiresAt: 1_900_000_000_000 });
    expect(JSON.parse(value.toString('utf8'))).toEqual({ sessionId: SESSION, expiresAt: 1_900_000_000_000 });
    expect(decodeRevocation(SESSION, value)).toEqual({ sessionId: SESSION, expiresAt: 1_900_000_000_000 });
    expect(decodeRevocation(OTHER, value)).toBeUndefined();
    expect(decodeRevocation(SESSION, Buffer.from('{"sessionId":"short","expiresAt":1}'))).toBeUndefined();
    expect(decodeRevocation(SESSION, Buffer.from('not json'))).toBeUndefined();
    expect(decodeRevocation(SESSION, null)).toBeUndefined();
  });

  it('is stored until the session expires, skipped once it has, and applying it twice changes nothing', () => {
    const settings = hostSettings();
    const store = openStore(settings);
    const now = Date.now();
    const live = record(SESSION, encodeRevocation({ sessionId: SESSION, expiresAt: now + 60_000 }));
    const old = record(OTHER, encodeRevocation({ sessionId: OTHER, expiresAt: now - 1 }));
    expect(applySessionRecord(live, { store, now })).toBe('stored');
    expect(applySessionRecord(live, { store, now })).toBe('stored');
    expect(applySessionRecord(old, { store, now })).toBe('expired');
    expect(applySessionRecord(record(SESSION, Buffer.from('{}')), { store, now })).toBe('unreadable');
    expect(store.isRevoked(SESSION)).toBe(true);
    expect(store.isRevoked(OTHER)).toBe(false);
    // Once the session has expired its cookie is refused anyway: the row can go.
    expect(store.purge(now + 60_000)).toBe(1);
    expect(store.isRevoked(SESSION)).toBe(false);
  });
});

describe('the sessions projection', () => {
  it("uses a group of this host's own", () => {
    expect(sessionGroupId({ settings: hostSettings('web-7') })).toBe('pizza_status-sessions.host.web-7');
  });

  it('reads where its own file says it stopped, and a new file reads the topic from the start even though the group committed', async () => {
    const bus = new EmbeddedBus({ partitions: 1 });
    cleanups.push(() => bus.close());
    const settings = hostSettings('web-1');
    const topic = settings.topics.sessions;
    const expiresAt = Date.now() + 60_000;
    const first = openStore(settings);
    const projection = await project(bus, settings, first);
    await projection.revoke({ sessionId: SESSION, expiresAt });
    await waitFor(() => first.storedPositions([{ topic, partition: 0 }])[0]?.offset === '1', 'the logout read back');
    await projection.stop();

    // The same host id (so the same group, which has committed offset 1) with its data dir wiped.
    const wiped = hostSettings('web-1');
    const fresh = openStore(wiped);
    await project(bus, wiped, fresh);
    await waitFor(() => fresh.isRevoked(SESSION), 'the earlier logout in the new copy');

    // A copy that says it has read offset 0 does not read it again.
    await bus.publish(topic, OTHER, encodeRevocation({ sessionId: OTHER, expiresAt }));
    const resumed = hostSettings('web-2');
    const partial = openStore(resumed);
    partial.savePosition({ topic, partition: 0, offset: '1' });
    await project(bus, resumed, partial);
    await waitFor(() => partial.isRevoked(OTHER), 'the second logout');
    expect(partial.isRevoked(SESSION)).toBe(false);
  });
});
