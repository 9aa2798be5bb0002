import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPizza } from '../../support/cli.js';
import { ShopHttpClient } from '../../support/http-client.js';
import { GOOD_PIZZA } from './web-client.js';

const LOGINS = 30;
const STREAMS_PER_LOGIN = 8;
const HEALTH_SAMPLES = 200;

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function rssMegabytes(pid: number): number {
  const kilobytes = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kilobytes) / 1024);
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

async function healthLatencies(url: string): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < HEALTH_SAMPLES; index += 1) {
    const started = performance.now();
    const response = await fetch(`${url}/health-check`);
    await response.text();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

/**
 * The attack that broke the per-session stream cap: log in again and again
 * from one address, opening the most streams each session may. Run against a
 * real `pizza all` with the default settings; it reports the health check's
 * latency and the process's memory (figures, not timed assertions).
 */
describe('30 logins × 8 live streams from one address (issue 11)', () => {
  it('keeps the streams to the per-address cap, and the health check and memory where they were', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pizza-attack-'));
    // A slow kitchen: every order stays live, so its page may stream for the whole attack.
    const pizza = startPizza([
      'all',
      '--port',
      '0',
      '--time-scale',
      '50',
      '--data-dir',
      dir,
      '--log-dir',
      join(dir, 'logs'),
    ]);
    const opened: Response[] = [];
    try {
      const [, url = ''] = await pizza.waitForLine(/pizza shop open at (http:\/\/[^\s"]+)/);
      const pid = pizza.child.pid ?? 0;
      const before = { health: await healthLatencies(url), rss: rssMegabytes(pid) };

      const statuses: Record<number, number> = {};
      let loginsRefused = 0;
      for (let login = 0; login < LOGINS; login += 1) {
        const attacker = new ShopHttpClient(url);
        try {
          await attacker.login(`attacker${login}`);
        } catch {
          loginsRefused += 1;
          continue;
        }
        const orderId = await attacker.order(GOOD_PIZZA);
        for (let stream = 0; stream < STREAMS_PER_LOGIN; stream += 1) {
          const response = await fetch(`${url}/orders/${orderId}/live`, {
            headers: { cookie: attacker.cookieHeader(), accept: 'text/event-stream' },
          });
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          if (response.status === 200) {
            opened.push(response);
            // Read as a browser would, so the server's writes are not held back by a full socket.
            void response.body?.pipeTo(new WritableStream()).catch(() => {});
          } else {
            await response.body?.cancel();
          }
        }
      }
      const during = { health: await healthLatencies(url), rss: rssMegabytes(pid) };

      const figures = {
        logins: LOGINS - loginsRefused,
        loginsRefused,
        streamStatuses: statuses,
        healthBefore: { p50: percentile(before.health, 0.5), p95: percentile(before.health, 0.95) },
        healthDuring: { p50: percentile(during.health, 0.5), p95: percentile(during.health, 0.95) },
        rssMegabytes: { before: before.rss, during: during.rss },
      };
      console.log(
        `attack: ${JSON.stringify(figures, (_key, value) => (typeof value === 'number' ? Math.round(value * 10) / 10 : value))}`,
      );
      // streams_per_address (32 by default) holds however many sessions the address makes.
      expect(opened.length).toBeLessThanOrEqual(32);
      expect(opened.length + (statuses[429] ?? 0)).toBe((LOGINS - loginsRefused) * STREAMS_PER_LOGIN);
    } finally {
      for (const response of opened) await response.body?.cancel().catch(() => {});
      await pizza.stop();
    }
  }, 180_000);
});
