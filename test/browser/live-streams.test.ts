/// <reference lib="dom" />
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, SCREENSHOTS, startRelay, startTestShop } from './shop.js';

const DELIVERED = 'Your pizza was delivered';
type Shop = Awaited<ReturnType<typeof startTestShop>>;

let browser: Browser;
const shops: Shop[] = [];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  for (const shop of shops) await shop.cleanup();
});

async function shopAt(timeScale: string, shopSettings: Record<string, string> = {}): Promise<Shop> {
  const shop = await startTestShop(timeScale, shopSettings);
  shops.push(shop);
  return shop;
}

async function loggedIn(baseURL: string, username: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Your name').fill(username);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/menu');
  return { context, page };
}

async function orderPizza(page: Page): Promise<string> {
  await page.goto('/menu');
  await page.getByLabel('Marinara', { exact: true }).check();
  await page.getByLabel('Cheddar', { exact: true }).check();
  await page.getByLabel('Sausage', { exact: true }).check();
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/orders\/[0-9a-f]{8}/);
  return page.url().split('/').pop()?.split('?')[0] as string;
}

const liveMode = (page: Page, selector = '[data-order-page]') => page.locator(selector).getAttribute('data-live');

/**
 * Headless Chromium reports every page as visible, and no DevTools command of
 * Chromium 156 changes that: Page.setWebLifecycleState {state: 'frozen'} and
 * minimizing the window (Browser.setWindowBounds) leave visibilityState
 * 'visible'. So the test plays the browser's part: it sets document.hidden and
 * visibilityState as a browser would and fires visibilitychange; the page's
 * code is the real one.
 */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((value) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => value });
    Object.defineProperty(document, 'visibilityState', {
      configurable: true,
      get: () => (value ? 'hidden' : 'visible'),
    });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

describe('live pages and the browser’s six connections', () => {
  it('keeps 12 tabs of one browser up to date with at most 4 streams, and a 13th tab still loads the menu', async () => {
    // A slow kitchen: every order is still in progress while the tabs are opened.
    const shop = await shopAt('1');
    const { context, page } = await loggedIn(shop.url, 'Tabs');
    const orders: string[] = [];
    for (let i = 0; i < 8; i += 1) orders.push(await orderPizza(page));
    await page.close();

    const tabs: Page[] = [];
    for (const orderId of orders) {
      const tab = await context.newPage();
      await tab.goto(`/orders/${orderId}`);
      tabs.push(tab);
    }
    for (let i = 0; i < 4; i += 1) {
      const tab = await context.newPage();
      await tab.goto('/orders');
      tabs.push(tab);
    }
    const modes = async () => Promise.all(tabs.map((tab) => liveMode(tab, '[data-order-page], [data-live-orders]')));
    await expect.poll(async () => (await modes()).every((mode) => mode === 'stream' || mode === 'polling')).toBe(true);
    const seen = await modes();
    expect(seen.filter((mode) => mode === 'stream').length).toBeLessThanOrEqual(4);
    expect(seen.filter((mode) => mode === 'polling').length).toBeGreaterThanOrEqual(8);

    const thirteenth = await context.newPage();
    const started = Date.now();
    await thirteenth.goto('/menu', { timeout: 10_000 });
    expect(await thirteenth.locator('h1').textContent()).toBe('Build your pizza');
    expect(Date.now() - started).toBeLessThan(5_000);

    // Streaming or polling, every tab sees its pizza delivered, then lets go of its connection.
    for (const tab of tabs.slice(0, 8)) {
      await tab.locator('[data-status-label]', { hasText: DELIVERED }).waitFor({ timeout: 60_000 });
    }
    await expect.poll(async () => (await modes()).every((mode) => mode === 'done'), { timeout: 15_000 }).toBe(true);
  }, 120_000);

  it('closes the stream while the tab is hidden, and catches up when it is shown again', async () => {
    const shop = await shopAt('0.5');
    const { context, page } = await loggedIn(shop.url, 'Hidden');
    const orderId = await orderPizza(page);
    await expect.poll(() => liveMode(page)).toBe('stream');
    const label = page.locator('[data-status-label]');
    const before = await label.textContent();

    await setHidden(page, true);
    await expect.poll(() => liveMode(page)).toBe('paused');
    // The kitchen goes on, as the server says (asked outside the page); the hidden page hears nothing (no stream, no polls).
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const serverLabel = async () => {
      const state = await context.request.get(`/orders/${orderId}/state.json`);
      return ((await state.json()) as { status: { label: string } }).status.label;
    };
    await expect.poll(serverLabel, { timeout: 30_000 }).not.toBe(before);
    expect(await label.textContent()).toBe(before);
    expect(requests).toEqual([]);

    // Shown again, it catches up at once, then follows the order to the end.
    await setHidden(page, false);
    await expect.poll(() => label.textContent(), { timeout: 5_000 }).not.toBe(before);
    await expect.poll(() => label.textContent(), { timeout: 30_000 }).toBe(DELIVERED);
    await expect.poll(() => page.locator('[data-timeline] tr').count()).toBe(4);
  }, 60_000);

  it('says "Reconnecting…" while the server is away, and catches up when it is back', async () => {
    const shop = await shopAt('1');
    const relay = await startRelay(shop.url);
    const { page } = await loggedIn(relay.url, 'Outage');
    await orderPizza(page);
    await expect.poll(() => liveMode(page)).toBe('stream');
    const state = page.getByRole('status').filter({ hasText: 'Reconnecting' });

    await relay.down();
    await expect.poll(() => liveMode(page)).toBe('reconnecting');
    await state.waitFor();
    expect(await state.getAttribute('aria-live')).toBe('polite');
    await page.screenshot({ path: join(SCREENSHOTS, 'order-reconnecting.png'), fullPage: false });

    // The browser tries the stream again while the server is away, and fails.
    await page.waitForEvent('requestfailed', {
      predicate: (request) => request.url().includes('/live'),
      timeout: 15_000,
    });
    await relay.up();
    await expect.poll(() => liveMode(page), { timeout: 15_000 }).toMatch(/stream|polling/);
    expect(await state.count()).toBe(0);
    await page.locator('[data-status-label]', { hasText: DELIVERED }).waitFor({ timeout: 60_000 });
    await relay.down();
  }, 90_000);

  it('polls a small JSON state when the server refuses a stream, and still shows every status', async () => {
    const shop = await shopAt('0.5', { streams_per_session: '1' });
    const { context, page } = await loggedIn(shop.url, 'Refused');
    const orderId = await orderPizza(page);
    await expect.poll(() => liveMode(page)).toBe('stream');
    const second = await context.newPage();
    const refused = second.waitForResponse((response) => response.url().includes('/live') && response.status() === 429);
    await second.goto(`/orders/${orderId}`);
    await refused;
    await expect.poll(() => liveMode(second)).toBe('polling');
    await second.locator('[data-status-label]', { hasText: DELIVERED }).waitFor({ timeout: 30_000 });
    await expect.poll(() => liveMode(second), { timeout: 10_000 }).toBe('done');
  }, 60_000);
});
