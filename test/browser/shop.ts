import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Browser, chromium } from 'playwright-core';
import { createLoggerFactory } from '../../src/adapters/logs/logger.js';
import { settingVariableName } from '../../src/config/environment.js';
import { loadSettings } from '../../src/config/settings.js';
import { ALL_ROLES, type RunningShop, startShop } from '../../src/roles/shop.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(process.cwd(), 'test-results', 'screenshots');

/** Debian's Chromium, headless, with the flags it needs as root in a container. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** The whole shop (five roles, embedded bus) on a free port, writing real log files; `shopSettings` as in [pizza-shop]. */
export async function startTestShop(
  timeScale: string,
  shopSettings: Record<string, string> = {},
): Promise<{ shop: RunningShop; url: string; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-browser-'));
  const env = Object.fromEntries(
    Object.entries(shopSettings).map(([key, value]) => [settingVariableName('pizza-shop', key), value]),
  );
  const settings = loadSettings({ dataDir: dir, logDir: join(dir, 'logs'), port: '0', timeScale }, { env });
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const logs = createLoggerFactory({ level: 'info', logDir: settings.shop.logDir, console: quiet });
  const shop = await startShop({ settings, roles: ALL_ROLES, logs });
  if (!shop.url) throw new Error('the shop started without a web app');
  return {
    shop,
    url: shop.url,
    async cleanup() {
      await shop.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP relay in front of the shop that can be taken down and brought back on
 * the same port: to the browser, the web server went away and came back.
 */
export async function startRelay(target: string): Promise<{ url: string; down(): Promise<void>; up(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let listenPort = 0;
  const up = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(Number(port), hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => socket.destroy());
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.listen(listenPort, '127.0.0.1', () => {
        const address = server?.address();
        if (address && typeof address === 'object') listenPort = address.port;
        resolve();
      });
    });
  await up();
  return {
    url: `http://127.0.0.1:${listenPort}`,
    down: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server?.close(() => resolve());
      }),
    up,
  };
}
