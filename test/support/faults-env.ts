/**
 * Role processes that run with something of their own in their environment:
 * a setting for one process only (PIZZA__* variables), or libfaketime to
 * shift its clock. A fault shop's processes inherit the test's environment,
 * so the variables are set for the spawn alone and put back at once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FaultRole, FaultShop, RoleProcess } from './faults-shop.js';

/** Debian's libfaketime (package `faketime`), as `faketime` itself preloads it. */
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

let cndShim: string | undefined;

/** faketime-cnd.c, compiled once per test process (see there why librdkafka needs it under libfaketime). */
function cndTimedwaitShim(): string {
  if (cndShim) return cndShim;
  const output = join(mkdtempSync(join(tmpdir(), 'pizza-faketime-')), 'libfaketime-cnd.so');
  execFileSync('cc', [
    '-shared',
    '-fPIC',
    '-O2',
    '-o',
    output,
    fileURLToPath(new URL('./faketime-cnd.c', import.meta.url)),
  ]);
  cndShim = output;
  return output;
}

/** Launches one process of a role with `env` added to its environment; resolves once it runs. */
export async function startWithEnv(
  shop: FaultShop,
  role: FaultRole,
  env: Record<string, string>,
  instance = 'a',
): Promise<RoleProcess> {
  const saved = Object.entries(env).map(([name]) => [name, process.env[name]] as const);
  Object.assign(process.env, env);
  let run: RoleProcess;
  try {
    run = shop.launch(role, instance);
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  await run.ready;
  return run;
}

/**
 * What `faketime -f <offset>` sets: the process's wall clock `offset` away
 * (`+10m`, `-10m`), running at the normal rate. The monotonic clock is left
 * alone (FAKETIME_DONT_FAKE_MONOTONIC): a host whose clock is off has a wall
 * clock that is off; its monotonic clock means nothing to any other host anyway.
 */
export function skewedClock(offset: string): Record<string, string> {
  if (!existsSync(LIBFAKETIME))
    throw new Error(`${LIBFAKETIME} is missing: apt-get install faketime (scripts/install.sh --test)`);
  return {
    LD_PRELOAD: `${cndTimedwaitShim()} ${LIBFAKETIME}`,
    FAKETIME: offset,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}

/** The operator address a role process printed at start (its /ready, /metrics, ...). */
export function operatorUrl(run: RoleProcess): string {
  const match = /"operator":"(http:\/\/[^"]+)"/.exec(run.outputTail(200_000));
  if (!match?.[1]) throw new Error(`${run.name} printed no operator address:\n${run.outputTail(1_000)}`);
  return match[1];
}
