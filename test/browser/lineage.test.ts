/// <reference lib="dom" />
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoggerFactory } from '../../src/adapters/logs/logger.js';
import { WebSession } from '../../src/cli/commands/load.js';
import { loadSettings } from '../../src/config/settings.js';
import { ALL_ROLES, type RunningShop, startShop } from '../../src/roles/shop.js';
import { launchChromium, SCREENSHOTS } from './shop.js';

// One oven and a bake of about half a second: 30 orders pile up in front of it for several seconds.
const TIME_SCALE = '0.05';
const ORDERS = 30;

let browser: Browser;
let shop: RunningShop;
let dir: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'pizza-lineage-'));
  const loaded = loadSettings({ dataDir: dir, logDir: join(dir, 'logs'), port: '0', timeScale: TIME_SCALE });
  const settings = { ...loaded, shop: { ...loaded.shop, capacity: { ...loaded.shop.capacity, bake: 1 } } };
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const logs = createLoggerFactory({ level: 'info', logDir: settings.shop.logDir, console: quiet });
  shop = await startShop({ settings, roles: ALL_ROLES, logs });
  browser = await launchChromium();
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await shop?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function lineagePage(username: string, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ baseURL: shop.url, viewport });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Your name').fill(username);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/menu');
  await page.goto('/lineage');
  // A marker that a reload would wipe out: the figures must change without one.
  await page.evaluate(() => {
    (window as unknown as { notReloaded: boolean }).notReloaded = true;
  });
  return page;
}

const notReloaded = (page: Page) =>
  page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true);
const noHorizontalScroll = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
const smallestText = (page: Page) =>
  page.evaluate(() => {
    let smallest = Number.POSITIVE_INFINITY;
    for (const node of Array.from(document.querySelectorAll('.lineage *'))) {
      const element = node as HTMLElement;
      if (!element.offsetParent || !element.childNodes.length) continue;
      const ownText = Array.from(element.childNodes).some((child) => child.nodeType === 3 && child.textContent?.trim());
      if (ownText) smallest = Math.min(smallest, Number.parseFloat(getComputedStyle(element).fontSize));
    }
    return smallest;
  });

describe('the lineage page in a real browser', () => {
  it('shows a bottleneck forming at the oven and draining, live, on a desktop and on a phone', async () => {
    const desktop = await lineagePage('Grace', { width: 1280, height: 800 });
    const phone = await lineagePage('Linus', { width: 390, height: 844 });
    const summary = desktop.locator('[data-summary]');
    await expect.poll(() => summary.textContent()).toBe('Nothing is waiting: every stage keeps up.');
    expect(await desktop.locator('[data-service]').count()).toBe(5);
    expect(await desktop.locator('[data-topic="pizza-ordered"] [data-field="total"]').textContent()).toBe('0');
    await desktop.screenshot({ path: join(SCREENSHOTS, 'lineage-idle.png'), fullPage: true });

    // The learner's button: demo orders through the same placement as a customer's.
    await desktop.getByLabel('Orders').fill(String(ORDERS));
    await desktop.getByLabel('Per second').fill('50');
    await desktop.getByRole('button', { name: 'Place demo orders' }).click();
    await desktop.waitForURL('**/lineage');
    await desktop.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });

    // The oven is the slowest stage, and the page says why in words.
    await expect
      .poll(() => summary.textContent(), { timeout: 20_000 })
      .toMatch(/^bake: 1 of 1 ovens busy, \d+ orders waiting$/);
    const waiting = Number(await desktop.locator('[data-service="bake"] [data-field="waiting"]').textContent());
    expect(waiting).toBeGreaterThan(2);
    expect(await desktop.locator('[data-service="bake"]').getAttribute('class')).toContain('is-bottleneck');
    await desktop.locator('[data-service="bake"] details summary').click();
    await desktop.evaluate(() => window.scrollTo(0, 0));
    await desktop.screenshot({ path: join(SCREENSHOTS, 'lineage-bottleneck-desktop.png'), fullPage: true });

    await expect.poll(() => phone.locator('[data-summary]').textContent(), { timeout: 10_000 }).toMatch(/^bake: /);
    expect(await notReloaded(phone)).toBe(true);
    expect(await noHorizontalScroll(phone)).toBe(true);
    expect(await smallestText(phone)).toBeGreaterThanOrEqual(12);
    await phone.screenshot({ path: join(SCREENSHOTS, 'lineage-bottleneck-phone.png'), fullPage: true });

    // Every order gets through; the queue drains and the page says so, still without a reload.
    await expect
      .poll(() => desktop.locator('[data-topic="pizza-delivered"] [data-field="total"]').textContent(), {
        timeout: 60_000,
      })
      .toBe(String(ORDERS));
    await expect
      .poll(() => summary.textContent(), { timeout: 10_000 })
      .toBe('Nothing is waiting: every stage keeps up.');
    expect(await desktop.locator('[data-topic="pizza-ordered"] [data-field="total"]').textContent()).toBe(
      String(ORDERS),
    );
    expect(await desktop.locator('[data-load-text]').textContent()).toContain(`${ORDERS} of ${ORDERS} demo orders`);
    expect(await notReloaded(desktop)).toBe(true);
    expect(await noHorizontalScroll(desktop)).toBe(true);
    await desktop.screenshot({ path: join(SCREENSHOTS, 'lineage-drained.png'), fullPage: true });
    expect(await noHorizontalScroll(phone)).toBe(true);
  });

  it('names no customer and no order, on the page or in its JSON', async () => {
    const page = await lineagePage('Ada Lovelace', { width: 1280, height: 800 });
    await page.goto('/menu');
    await page.getByLabel('Pesto', { exact: true }).check();
    await page.getByLabel('Gouda', { exact: true }).check();
    await page.getByLabel('Chicken', { exact: true }).check();
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\/[0-9a-f]{8}/);
    const orderId = page.url().split('/').pop()?.split('?')[0] as string;
    await page.goto('/lineage');
    for (const details of await page.locator('details').all()) await details.locator('summary').click();
    const html = await page.content();
    const json = await (await page.request.get('/lineage.json')).text();
    for (const text of [html.replace(/<header[\s\S]*?<\/header>/, ''), json]) {
      expect(text).not.toContain('Ada Lovelace');
      expect(text).not.toContain(orderId);
    }
  });

  it('guards the load form: a CSRF token, bounded sizes, and off unless the setting turns it on', async () => {
    const session = await WebSession.login(shop.url ?? '', 'Barbara');
    await session.get('/lineage');
    expect((await session.post('/lineage/load', { orders: '501', rate: '10' })).status).toBe(400);
    expect((await session.post('/lineage/load', { orders: '10', rate: '51' })).status).toBe(400);
    const forged = await fetch(new URL('/lineage/load', shop.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'orders=10&rate=10',
      redirect: 'manual',
    });
    expect(forged.status).toBe(403);

    const offDir = mkdtempSync(join(tmpdir(), 'pizza-lineage-off-'));
    const off = loadSettings({ dataDir: offDir, logDir: join(offDir, 'logs'), port: '0', timeScale: '0' });
    const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
    const logs = createLoggerFactory({ level: 'info', logDir: off.shop.logDir, console: quiet });
    const offShop = await startShop({
      settings: { ...off, shop: { ...off.shop, loadButton: false } },
      roles: ['serve', 'status'],
      logs,
    });
    try {
      const offSession = await WebSession.login(offShop.url ?? '', 'Barbara');
      const page = await (await offSession.get('/lineage')).text();
      expect(page).toContain('Stream lineage');
      expect(page).not.toContain('Place demo orders');
      expect((await offSession.post('/lineage/load', { orders: '10', rate: '10' })).status).toBe(403);
    } finally {
      await offShop.stop();
      rmSync(offDir, { recursive: true, force: true });
    }
  });
});
