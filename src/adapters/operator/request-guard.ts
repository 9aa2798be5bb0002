/**
 * Who may talk to the operator address. It has no login: being on the machine
 * (or the network it is bound to) is the credential. A web page the operator
 * opens is on the machine too, so the address refuses what only a browser
 * sends on a page's behalf: an `Origin` header, and a `Host` that is not the
 * operator address (a DNS-rebinding page reaches 127.0.0.1 under its own
 * name). State-changing routes take JSON only, which no plain form can send.
 */
import { isIP } from 'node:net';
import { hostname, type NetworkInterfaceInfo, networkInterfaces } from 'node:os';

const LOOPBACK_ALIASES = ['localhost', '127.0.0.1'];
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** A host as a Host header writes it: IPv6 addresses in brackets. */
function hostPart(name: string): string {
  return isIP(name) === 6 ? `[${name}]` : name;
}

/**
 * Every `Host` header value that names the operator address, lowercased: the
 * address it is bound to with the port it got (the real one when it asked for
 * port 0), `localhost` and `127.0.0.1` for a loopback bind, and each of the
 * machine's addresses and its host name for a wildcard bind (0.0.0.0 or ::).
 */
export function operatorHosts(
  bindHost: string,
  port: number,
  machine: { interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>; hostname: string } = {
    interfaces: networkInterfaces(),
    hostname: hostname(),
  },
): Set<string> {
  const host = bindHost.trim().toLowerCase();
  const names = new Set([host]);
  if (isLoopback(host)) for (const alias of LOOPBACK_ALIASES) names.add(alias);
  if (WILDCARDS.has(host)) {
    for (const alias of LOOPBACK_ALIASES) names.add(alias);
    for (const info of Object.values(machine.interfaces).flat()) if (info) names.add(info.address.toLowerCase());
    names.add(machine.hostname.toLowerCase());
  }
  const hosts = new Set<string>();
  for (const name of names) {
    if (name === '') continue;
    hosts.add(`${hostPart(name)}:${port}`);
    // A client leaves the port out when it is the scheme's default.
    if (port === 80) hosts.add(hostPart(name));
  }
  return hosts;
}

/** Why a request may not reach the operator routes; undefined when it may. */
export function refusal(
  headers: { host?: string; origin?: string },
  hosts: ReadonlySet<string>,
): { statusCode: number; error: string } | undefined {
  // Scripts, curl and Prometheus send no Origin; a browser sends one with every cross-origin POST.
  if (headers.origin !== undefined) {
    return { statusCode: 403, error: 'the operator address answers no request a web page makes (it has an Origin)' };
  }
  if (!hosts.has((headers.host ?? '').trim().toLowerCase())) {
    return {
      statusCode: 421,
      error: 'that Host is not the operator address: use the address the process printed at start',
    };
  }
  return undefined;
}
