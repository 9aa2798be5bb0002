import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * A slot number for one process of a role on this host, stable across
 * restarts and distinct for two processes sharing a data dir: the lowest slot
 * whose lock file is free or names a process that is gone. With the host id it
 * makes a transactional id, so a restarted instance fences its zombie and two
 * live instances never fence each other.
 */
export function claimInstanceSlot(settings: Settings, role: string): number {
  mkdirSync(settings.shop.dataDir, { recursive: true });
  for (let slot = 0; ; slot += 1) {
    const path = join(settings.shop.dataDir, `instance-${role}-${slot}.pid`);
    try {
      const holder = Number(readFileSync(path, 'utf8').trim());
      if (holder === process.pid) return slot;
      if (holder > 0 && isAlive(holder)) continue;
      rmSync(path, { force: true });
    } catch {
      // No lock file: the slot is free.
    }
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return slot;
    } catch {
      // Another process took it between our look and our write: try the next slot.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
