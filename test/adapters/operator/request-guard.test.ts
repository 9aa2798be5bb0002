import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { operatorHosts, refusal } from '../../../src/adapters/operator/request-guard.js';

const INTERFACES = {
  interfaces: {
    lo: [{ address: '127.0.0.1' }, { address: '::1' }],
    eth0: [{ address: '10.1.2.3' }, { address: 'fe80::1' }],
  } as unknown as NodeJS.Dict<NetworkInterfaceInfo[]>,
  hostname: 'Oven-1',
};

describe('the Host values that name the operator address', () => {
  it('is the bound address and port, with localhost and 127.0.0.1 for a loopback bind', () => {
    expect([...operatorHosts('127.0.0.1', 9464, INTERFACES)].sort()).toEqual(['127.0.0.1:9464', 'localhost:9464']);
    expect([...operatorHosts('::1', 9464, INTERFACES)].sort()).toEqual([
      '127.0.0.1:9464',
      '[::1]:9464',
      'localhost:9464',
    ]);
    // A name other than loopback stands for itself only.
    expect([...operatorHosts('Ops.Example', 9464, INTERFACES)]).toEqual(['ops.example:9464']);
    // Port 80 may be left out, as clients do.
    expect(operatorHosts('127.0.0.1', 80, INTERFACES).has('localhost')).toBe(true);
  });

  it("is any of the machine's addresses or its name for a wildcard bind, never a name from outside", () => {
    const hosts = operatorHosts('0.0.0.0', 9464, INTERFACES);
    for (const host of ['0.0.0.0:9464', '10.1.2.3:9464', '[fe80::1]:9464', 'localhost:9464', 'oven-1:9464']) {
      expect(hosts.has(host), host).toBe(true);
    }
    expect(hosts.has('evil.example:9464')).toBe(false);
  });

  it('refuses an Origin, then a Host not in the list (case aside)', () => {
    const hosts = operatorHosts('127.0.0.1', 9464, INTERFACES);
    expect(refusal({ host: 'LOCALHOST:9464' }, hosts)).toBeUndefined();
    expect(refusal({ host: 'localhost:9464', origin: 'null' }, hosts)?.statusCode).toBe(403);
    expect(refusal({ host: 'rebound.example:9464' }, hosts)?.statusCode).toBe(421);
    expect(refusal({}, hosts)?.statusCode).toBe(421);
  });
});
