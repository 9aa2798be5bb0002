import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { ShopHttpClient } from '../../test/support/http-client.js';
import { PIZZA } from './load.js';
import { repoRoot } from './shop-process.js';
import { sleep } from './util.js';

export interface WebCeiling {
  clients: number;
  seconds: number;
  requests: number;
  perSecond: number;
  /**
   * The same route and form body from a bare node:http client with keep-alive:
   * how much of the limit above is the load generator's own cost.
   */
  rawHttpPerSecond: number;
  fastifyVersion: string;
}

/** Runs `call` from `clients` loops until `until`; how many calls completed. */
async function closedLoops(
  clients: number,
  until: number,
  call: (client: number) => Promise<unknown>,
): Promise<number> {
  let calls = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (Date.now() < until) {
        await call(client);
        calls += 1;
      }
    }),
  );
  return calls;
}

/** Warms up for a second, then measures calls per second for `seconds`. */
async function rate(clients: number, seconds: number, call: (client: number) => Promise<unknown>) {
  await closedLoops(clients, Date.now() + 1_000, call);
  const started = Date.now();
  const calls = await closedLoops(clients, started + seconds * 1000, call);
  const took = (Date.now() - started) / 1000;
  return { calls, seconds: took, perSecond: calls / took };
}

function rawPost(agent: Agent, url: URL, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', resolve);
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/**
 * Hits the bare route with the bench's own load generator (ShopHttpClient's
 * order POST, form body and all) from `clients` customers in a closed loop,
 * for `seconds` after a one-second warm-up; then the same with node:http.
 */
export async function measureWebCeiling(options: { clients: number; seconds: number }): Promise<WebCeiling> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/bare-web-app.ts'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the bare web app exited with code ${code}`)));
    });
    lines.close();
    const { address } = JSON.parse(first) as { address: string };
    const clients = Array.from({ length: options.clients }, () => new ShopHttpClient(address));
    const bench = await rate(options.clients, options.seconds, (client) =>
      (clients[client] as ShopHttpClient).order(PIZZA),
    );
    const agent = new Agent({ keepAlive: true, maxSockets: options.clients });
    const form = new URLSearchParams({ ...PIZZA, extraToppings: PIZZA.extraToppings.join(','), _csrf: '' }).toString();
    const raw = await rate(options.clients, options.seconds, () => rawPost(agent, new URL('/orders', address), form));
    agent.destroy();
    const { version } = (await import('fastify/package.json', { with: { type: 'json' } })).default;
    return {
      clients: options.clients,
      seconds: bench.seconds,
      requests: bench.calls,
      perSecond: bench.perSecond,
      rawHttpPerSecond: raw.perSecond,
      fastifyVersion: version,
    };
  } finally {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
