/**
 * `[pizza-shop] trust_proxy`: which proxies in front of the web app may say,
 * in `X-Forwarded-For`, whom a request came from. The client is the right-most
 * address that no trusted proxy wrote: everything left of it is what the
 * client itself sent, so trusting it would let anyone pick their own address
 * (and with it a fresh login rate limit and stream cap per request).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { iniList } from './ini.js';

/** No proxy; a number of proxies in front (`true` is one); or the proxies' addresses and networks. */
export type TrustedProxies = false | { hops: number } | { addresses: string[] };

/** The names proxy-addr (fastify's) gives to well-known networks. */
const NAMED_NETWORKS = new Set(['loopback', 'linklocal', 'uniquelocal']);
/** More proxies than this in a row is a typo, not a shop. */
const MAX_HOPS = 16;

/** An address, a network in CIDR form (10.0.0.0/8, fd00::/8), or one of NAMED_NETWORKS. */
function isProxyAddress(entry: string): boolean {
  if (NAMED_NETWORKS.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

export const trustProxy = z.string().transform((raw, context): TrustedProxies => {
  const text = raw.trim().toLowerCase();
  if (text === 'false' || text === '0') return false;
  // One TLS proxy in front is what a shop means by "behind a proxy"; trusting every hop never is.
  if (text === 'true') return { hops: 1 };
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops <= MAX_HOPS) return { hops };
  } else {
    const addresses = iniList(text);
    if (addresses.length > 0 && addresses.every(isProxyAddress)) return { addresses };
  }
  // Not `custom`: the config loader then explains it with the setting's hint, as for any other bad value.
  context.addIssue({ code: 'invalid_format', format: 'trusted proxies', input: raw });
  return z.NEVER;
});
