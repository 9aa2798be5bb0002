import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'pizza-trust-proxy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function trustProxyOf(value: string) {
  const file = join(dir, 'system.ini');
  writeFileSync(file, `[pizza-shop]\ntrust_proxy = ${value}\n`);
  return loadSettings({ systemConfig: file }).shop.trustProxy;
}

describe('[pizza-shop] trust_proxy', () => {
  it('trusts no proxy by default, one for true, a count of proxies, or proxies by address', () => {
    expect(loadSettings().shop.trustProxy).toBe(false);
    expect(trustProxyOf('false')).toBe(false);
    expect(trustProxyOf('0')).toBe(false);
    // One TLS proxy in front, never every hop: the left of X-Forwarded-For is the client's own writing.
    expect(trustProxyOf('true')).toEqual({ hops: 1 });
    expect(trustProxyOf('2')).toEqual({ hops: 2 });
    expect(trustProxyOf('10.0.0.5, 10.1.0.0/16, fd00::/8, loopback')).toEqual({
      addresses: ['10.0.0.5', '10.1.0.0/16', 'fd00::/8', 'loopback'],
    });
  });

  it('refuses what is neither, naming the key and the values it takes', () => {
    for (const value of ['yes', '10.0.0.1/33', '300.1.1.1', '10.0.0.0/8/8', '99', 'example.com']) {
      expect(() => trustProxyOf(value), value).toThrow(/trust_proxy.*proxy addresses such as/s);
    }
  });
});
