import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Settings } from '../config/settings.js';

const HOST_ID_FILE = 'host-id';

/**
 * Names this host in per-host consumer groups: `[pizza-shop] host_id`, else
 * one made on first run and kept in the data dir, so a restart keeps its
 * group and a wiped data dir starts a fresh one.
 */
export function resolveHostId(settings: Settings): string {
  if (settings.shop.hostId) return settings.shop.hostId;
  const path = join(settings.shop.dataDir, HOST_ID_FILE);
  try {
    const existing = readFileSync(path, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{1,64}$/.test(existing)) return existing;
  } catch {
    // Not there yet: make one below.
  }
  mkdirSync(settings.shop.dataDir, { recursive: true });
  const made = randomBytes(4).toString('hex');
  writeFileSync(path, `${made}\n`, { mode: 0o600 });
  return made;
}

/**
 * A group that one host keeps to itself, so it reads every partition (each
 * web host keeps a whole view). The shared prefix and the `.host.` marker let
 * tooling recognise all of them as one service.
 */
export function perHostGroupId(baseGroupId: string, hostId: string): string {
  return `${baseGroupId}.host.${hostId}`;
}
