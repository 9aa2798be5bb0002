/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, SCREENSHOTS, startTestShop } from './shop.js';

// Slow enough to see each stage on screen, fast enough for a test: a pizza takes a few seconds.
const TIME_SCALE = '0.25';
const DELIVERED = 'Your pizza was delivered';

let browser: Browser;
let shop: Awaited<ReturnType<typeof startTestShop>>;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  shop = await startTestShop(TIME_SCALE);
  browser = await launchChromium();
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await shop?.cleanup();
});

async function customer(username: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ baseURL: shop.url, viewport });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Your name').fill(username);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/menu');
  return page;
}

async function orderPizza(
  page: Page,
  choice = { sauce: 'Pesto', cheese: 'Gouda', main: 'Chicken', extras: ['Onion', 'Black olives'] },
) {
  await page.goto('/menu');
  await page.getByLabel(choice.sauce, { exact: true }).check();
  await page.getByLabel(choice.cheese, { exact: true }).check();
  await page.getByLabel(choice.main, { exact: true }).check();
  for (const extra of choice.extras) await page.getByLabel(extra, { exact: true }).check();
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/orders\/[0-9a-f]{8}/);
  return page.url().split('/').pop()?.split('?')[0] as string;
}

describe('in a real browser', () => {
  it('logs in, orders, and watches the status reach delivered without reloading', async () => {
    const page = await customer('Ada');
    await page.goto('/menu');
    await page.getByLabel('Pesto', { exact: true }).check();
    await page.getByLabel('Onion', { exact: true }).check();
    await page.screenshot({ path: join(SCREENSHOTS, 'menu.png'), fullPage: true });

    const orderId = await orderPizza(page);
    // A marker that a reload would wipe out.
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    const label = page.locator('[data-status-label]');
    await expect.poll(() => label.textContent()).not.toBe(DELIVERED);

    await page.locator('svg.flow-wide[data-stage="bake"]').waitFor({ timeout: 30_000 });
    await expect.poll(async () => page.locator('.log-line').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'order-in-progress.png'), fullPage: true });

    await page.locator('[data-status-label]', { hasText: DELIVERED }).waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.locator('svg.flow-wide').getAttribute('data-stage')).toBe('delivered');
    // A finished order keeps no stream open.
    await expect
      .poll(() => page.locator('[data-order-page]').getAttribute('data-live'), { timeout: 10_000 })
      .toBe('done');
    await expect.poll(() => page.locator('[data-timeline] tr').count()).toBe(4);
    await page.screenshot({ path: join(SCREENSHOTS, 'order-delivered.png'), fullPage: true });
    // README's picture; `npm run screenshots` copies it to docs/, so a test run leaves the work tree alone.

    await page.goto('/orders');
    await expect.poll(() => page.locator(`[data-order-status="${orderId}"]`).textContent()).toBe(DELIVERED);
    await page.screenshot({ path: join(SCREENSHOTS, 'my-orders.png'), fullPage: true });
  });

  it("opens a service's log lines for the order and shows the event timeline", async () => {
    const page = await customer('Grace');
    const orderId = await orderPizza(page);
    await page.locator('[data-status-label]', { hasText: DELIVERED }).waitFor({ timeout: 30_000 });

    await page.locator('svg.flow-wide .node[data-service="bake"]').click();
    await expect.poll(() => page.locator('[data-log-service]').textContent()).toBe('bake');
    // Sentences for people, in the shop's time (a quarter of the recipe's seconds), no field names.
    await expect
      .poll(() => page.locator('[data-log-lines] .log-msg').allTextContents())
      .toEqual([expect.stringMatching(/^Baking your pizza: (about \d+ s|a moment)\.$/), 'Baked, ready for delivery.']);
    expect(page.url()).toContain('service=bake');
    expect(await page.locator('svg.flow-wide').getAttribute('data-service')).toBe('bake');

    await page.locator('svg.flow-wide .node[data-service="serve"]').click();
    await expect
      .poll(() => page.locator('[data-log-lines] .log-msg').allTextContents())
      .toContain('We took your order and passed it to the kitchen.');
    await page.locator('svg.flow-wide .node[data-service="status"]').click();
    await expect
      .poll(() => page.locator('[data-log-lines] .log-msg').allTextContents())
      .toContain('Your pizza was delivered.');
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText, the text a customer sees
    const text = await page.locator('main').innerText();
    expect(text).not.toMatch(/reqId|Seconds=|older or duplicate|Each arrow is a Kafka topic/);

    const topics = await page.locator('[data-timeline] tr td:nth-child(2)').allTextContents();
    expect(topics).toEqual(['pizza-ordered', 'pizza-assembled', 'pizza-baked', 'pizza-delivered']);
    const statuses = await page.locator('[data-timeline] .status-code').allTextContents();
    expect(statuses).toEqual(['100', '200', '300', '999']);
    expect(orderId).toMatch(/^[0-9a-f]{8}$/);
  });

  it("keeps two customers' orders apart", async () => {
    const ada = await customer('Ada two');
    const bob = await customer('Bob');
    const adas = await orderPizza(ada);
    const bobs = await orderPizza(bob, { sauce: 'Hummus', cheese: 'Ricotta', main: 'Vegan meat', extras: [] });

    const response = await bob.goto(`/orders/${adas}`);
    expect(response?.status()).toBe(404);
    await expect.poll(() => bob.locator('h1').textContent()).toBe('Order not found');
    expect(await bob.content()).not.toContain('Pesto');

    await bob.goto(`/orders/${adas}/logs/serve`);
    expect(await bob.locator('h1').textContent()).toBe('Order not found');

    await ada.goto('/orders');
    expect(await ada.locator(`[data-order-status="${adas}"]`).count()).toBe(1);
    expect(await ada.locator(`[data-order-status="${bobs}"]`).count()).toBe(0);

    await bob.getByLabel('Order id').fill(adas);
    await bob.getByRole('button', { name: 'Find' }).click();
    await expect.poll(() => bob.locator('h1').textContent()).toBe('Order not found');
  });

  it('refuses a POST without a CSRF token', async () => {
    const page = await customer('Eve');
    const status = await page.evaluate(async () => {
      const body = new URLSearchParams({ sauce: 'Pesto', cheese: 'Gouda', mainTopping: 'Chicken' });
      const response = await fetch('/orders', { method: 'POST', body, redirect: 'manual' });
      return response.status;
    });
    expect(status).toBe(403);
    await page.goto('/orders');
    expect(await page.locator('.order-row').count()).toBe(0);
  });

  it('shows an XSS payload used as a username as plain text', async () => {
    const payload = '<svg/onload=1>';
    const dialogs: string[] = [];
    const page = await customer(payload);
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    expect(await page.getByTestId('username').textContent()).toBe(payload);
    expect(await page.locator('.who svg, .who *').count()).toBe(0);
    const orderId = await orderPizza(page);
    expect(await page.locator('.pizza dd').last().textContent()).toBe(payload);
    expect(orderId).toMatch(/^[0-9a-f]{8}$/);
    expect(dialogs).toEqual([]);
  });

  it('takes a note for the driver on the menu, shows it on the order page as text, and in the driver’s line', async () => {
    const note = 'Ring twice <img src=x onerror=alert(1)>';
    const dialogs: string[] = [];
    const page = await customer('Katherine');
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto('/menu');
    await page.getByLabel('Tomato', { exact: true }).check();
    await page.getByLabel('Mozzarella', { exact: true }).check();
    await page.getByLabel('Pepperoni', { exact: true }).check();
    await page.getByLabel('Note for the driver').fill(note);
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\/[0-9a-f]{8}/);
    expect(await page.locator('[data-delivery-note]').textContent()).toBe(note);

    await page.locator('svg.flow-wide .node[data-service="deliver"]').click();
    await expect
      .poll(() => page.locator('[data-log-lines] .log-msg').allTextContents(), { timeout: 30_000 })
      .toContain(`The driver knows your order is coming. Note for the driver: ${note}`);
    expect(await page.locator('main img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('reads well on a phone', async () => {
    const page = await customer('Phone', { width: 390, height: 844 });
    await orderPizza(page);
    await page.locator('[data-status-label]', { hasText: DELIVERED }).waitFor({ timeout: 30_000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'order-phone.png'), fullPage: true });
  });
});
