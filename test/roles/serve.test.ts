import { statSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { systemClock } from '../../src/roles/role.js';
import { createServeRole, resolveSessionSecret } from '../../src/roles/serve.js';
import { testSettings } from '../support/settings.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function settingsForTest() {
  const made = testSettings();
  cleanups.push(made.cleanup);
  return made.settings;
}

describe('serve role', () => {
  it('generates a session secret on first run, keeps it private in the data dir, and reuses it', () => {
    const settings = settingsForTest();
    const first = resolveSessionSecret(settings);
    expect(first.length).toBeGreaterThanOrEqual(32);
    const file = join(settings.shop.dataDir, 'session-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(resolveSessionSecret(settings)).toBe(first);
    const other = settingsForTest();
    expect(resolveSessionSecret(other)).not.toBe(first);
  });

  it('uses the configured session secret when there is one', () => {
    const settings = settingsForTest();
    const configured = { ...settings, shop: { ...settings.shop, sessionSecret: 'configured-secret-of-enough-length' } };
    expect(resolveSessionSecret(configured)).toBe('configured-secret-of-enough-length');
  });

  it('listens on a free port, reports its URL, and stops idempotently', async () => {
    const settings = settingsForTest();
    const bus = new EmbeddedBus({ partitions: 1 });
    cleanups.push(() => bus.close());
    const role = createServeRole({ bus, settings, clock: systemClock, log: pino({ level: 'silent' }) });
    await role.start();
    const url = role.url();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
    const response = await fetch(`${url}/health-check`);
    expect(await response.text()).toBe('Ok');
    await role.stop();
    await role.stop();
    expect(role.url()).toBeUndefined();
    await expect(fetch(`${url}/health-check`)).rejects.toThrow();
  });
});
