import { spawn } from 'node:child_process';
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
  fastifyVersion: string;
}

/**
 * Hits the bare route with the bench's own load generator (ShopHttpClient's
 * order POST, form body and all) from `clients` customers in a closed loop,
 * for `seconds` after a one-second warm-up.
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
    const hammer = async (until: number) => {
      let requests = 0;
      await Promise.all(
        clients.map(async (client) => {
          while (Date.now() < until) {
            await client.order(PIZZA);
            requests += 1;
          }
        }),
      );
      return requests;
    };
    await hammer(Date.now() + 1_000);
    const started = Date.now();
    const requests = await hammer(started + options.seconds * 1000);
    const seconds = (Date.now() - started) / 1000;
    const { version } = (await import('fastify/package.json', { with: { type: 'json' } })).default;
    return { clients: options.clients, seconds, requests, perSecond: requests / seconds, fastifyVersion: version };
  } finally {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
