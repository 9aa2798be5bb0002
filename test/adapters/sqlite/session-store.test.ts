import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionStore } from '../../../src/adapters/sqlite/session-store.js';

const SESSION = 'aaaaaaaaaaaaaaaaaaaaaa';
const OTHER = 'bbbbbbbbbbbbbbbbbbbbbb';
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-sessions-'));
  dirs.push(dir);
  return join(dir, 'orders.db');
}

describe('the session store', () => {
  it('refuses a session logged out before a restart, from the file it reopens', () => {
    const path = dataFile();
    const before = SessionStore.open(path);
    before.revoke({ sessionId: SESSION, expiresAt: 2_000 });
    before.close();

    const after = SessionStore.open(path);
    expect(after.isRevoked(SESSION)).toBe(true);
    expect(after.isRevoked(OTHER)).toBe(false);
    after.close();
  });

  it('keeps the later expiry of a session revoked twice, and forgets a revocation once its session has expired', () => {
    const path = dataFile();
    const store = SessionStore.open(path);
    store.revoke({ sessionId: SESSION, expiresAt: 5_000 });
    store.revoke({ sessionId: SESSION, expiresAt: 1_000 });
    store.revoke({ sessionId: OTHER, expiresAt: 1_000 });

    expect(store.purge(1_000)).toBe(1);
    expect(store.isRevoked(SESSION)).toBe(true);
    expect(store.isRevoked(OTHER)).toBe(false);
    store.close();
    // The file agrees with what the store answered.
    const reopened = SessionStore.open(path);
    expect(reopened.isRevoked(SESSION)).toBe(true);
    expect(reopened.isRevoked(OTHER)).toBe(false);
    expect(reopened.purge(5_000)).toBe(1);
    expect(reopened.isRevoked(SESSION)).toBe(false);
    reopened.close();
  });
});
