/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, SCREENSHOTS, startTestShop } from './shop.js';

// Slow: assembling takes 4 to 11 s here, so the cancel surely lands before the oven.
const TIME_SCALE = '1';

let browser: Browser;
let shop: Awaited<ReturnType<typeof startTestShop>>;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  shop = await startTestShop(TIME_SCALE);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await shop?.cleanup();
});

async function orderAsNewCustomer(): Promise<Page> {
  const context = await browser.newContext({ baseURL: shop.url, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Your name').fill('Cancel');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/menu');
  await page.getByLabel('Tomato', { exact: true }).check();
  await page.getByLabel('Mozzarella', { exact: true }).check();
  await page.getByLabel('Pepperoni', { exact: true }).check();
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/orders\/[0-9a-f]{8}/);
  return page;
}

describe('cancelling an order in a real browser (issue 13)', () => {
  it('cancels an order still being assembled, and the page says so as final', async () => {
    const page = await orderAsNewCustomer();
    await Promise.all([
      page.waitForResponse((response) => response.url().endsWith('/cancel') && response.status() === 303),
      page.getByRole('button', { name: 'Cancel order' }).click(),
    ]);
    await page.waitForLoadState();
    // The outcome is an event the view applies; the page shows it once it arrives.
    await expect
      .poll(
        async () => {
          await page.reload();
          // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText, the text a customer sees
          return page.locator('body').innerText();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toContain('Order has been cancelled');
    expect(await page.getByRole('button', { name: 'Cancel order' }).count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'order-cancelled.png'), fullPage: true });
  });
});
