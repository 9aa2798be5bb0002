import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Browser, chromium } from 'playwright-core';
import { createLoggerFactory } from '../../src/adapters/logs/logger.js';
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

/** The whole shop (five roles, embedded bus) on a free port, writing real log files. */
export async function startTestShop(
  timeScale: string,
): Promise<{ shop: RunningShop; url: string; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-browser-'));
  const settings = loadSettings({ dataDir: dir, logDir: join(dir, 'logs'), port: '0', timeScale });
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
