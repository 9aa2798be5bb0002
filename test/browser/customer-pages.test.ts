/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, SCREENSHOTS, startTestShop } from './shop.js';

// Slow enough to catch an order in the oven for the screenshots and the checks.
const TIME_SCALE = '0.5';
const DELIVERED = 'Your pizza was delivered';
const AXE_SOURCE = (createRequire(import.meta.url)('axe-core') as { source: string }).source;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

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

async function newPage(viewport: { width: number; height: number }): Promise<Page> {
  // The shop's Content-Security-Policy forbids inline scripts, axe's included: the test lets it in.
  const context = await browser.newContext({ baseURL: shop.url, viewport, bypassCSP: true });
  contexts.push(context);
  return context.newPage();
}

async function logIn(page: Page, username: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Your name').fill(username);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/menu');
}

async function orderPizza(page: Page): Promise<string> {
  await page.goto('/menu');
  await page.getByLabel('Tomato', { exact: true }).check();
  await page.getByLabel('Mozzarella', { exact: true }).check();
  await page.getByLabel('Pepperoni', { exact: true }).check();
  await page.getByLabel('Mushroom', { exact: true }).check();
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/orders\/[0-9a-f]{8}/);
  return page.url().split('/').pop()?.split('?')[0] as string;
}

/** axe-core's verdict on the page as it is now: the rules that fail, with the elements. */
async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run(): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: unknown[] }> }> }> };
      }
    ).axe;
    const result = await axe.run();
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
  });
  return violations;
}

/** Every visible piece of text and its size on screen (SVG text times the drawing's scale). */
async function smallText(page: Page, minPx: number): Promise<string[]> {
  return page.evaluate((min) => {
    const found: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent?.trim();
      const element = node.parentElement;
      if (!text || !element?.checkVisibility({ visibilityProperty: true })) continue;
      const box = element.getBoundingClientRect();
      if (box.width <= 1 || box.height <= 1) continue;
      let size = Number.parseFloat(getComputedStyle(element).fontSize);
      if (element instanceof SVGGraphicsElement) {
        const matrix = element.getScreenCTM();
        if (matrix) size *= Math.hypot(matrix.a, matrix.b);
      }
      if (size < min) found.push(`${text.slice(0, 30)} (${size.toFixed(1)} px)`);
    }
    return found;
  }, minPx);
}

const noHorizontalScroll = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

describe('pages a customer sees, in a real browser', () => {
  for (const [name, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`meet WCAG AA by axe-core on the ${name}: login, menu, a live order, my orders, not found`, async () => {
      const page = await newPage(viewport);
      await page.goto('/login');
      expect(await axeViolations(page)).toEqual([]);
      await logIn(page, `Axe ${name}`);
      await page.getByLabel('Pesto', { exact: true }).check();
      await page.getByLabel('Onion', { exact: true }).check();
      await page.getByLabel('Gouda', { exact: true }).focus();
      expect(await axeViolations(page)).toEqual([]);

      await orderPizza(page);
      await page.locator('[data-order-page][data-live="stream"]').waitFor();
      expect(await axeViolations(page)).toEqual([]);
      await page.goto('/orders');
      expect(await axeViolations(page)).toEqual([]);
      await page.goto('/orders/ffffffff');
      expect(await axeViolations(page)).toEqual([]);
      await page.goto('/no/such/page');
      expect(await axeViolations(page)).toEqual([]);
    });
  }

  it('on a phone: the diagram turns vertical, text is 12 px or more (the diagram 14 px), nothing runs off the side', async () => {
    const page = await newPage(PHONE);
    await logIn(page, 'Phone');
    expect(await noHorizontalScroll(page)).toBe(true);
    expect(await smallText(page, 12)).toEqual([]);
    await orderPizza(page);
    await page.locator('svg.flow-tall[data-stage="bake"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('svg.flow-wide').isVisible()).toBe(false);
    expect(await page.locator('svg.flow-tall').isVisible()).toBe(true);
    expect(await smallText(page, 12)).toEqual([]);
    const diagramText = await page.evaluate(() =>
      Array.from(document.querySelectorAll<SVGTextElement>('svg.flow-tall text')).map((text) => {
        const matrix = text.getScreenCTM();
        return Number.parseFloat(getComputedStyle(text).fontSize) * (matrix ? Math.hypot(matrix.a, matrix.b) : 1);
      }),
    );
    expect(Math.min(...diagramText)).toBeGreaterThanOrEqual(14);
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'order-phone-in-progress.png'), fullPage: true });

    await page.locator('[data-status-label]', { hasText: DELIVERED }).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('[data-timeline] tr').count()).toBe(4);
    // Every timeline cell, the status included, lies inside the screen.
    const outside = await page.evaluate(
      () =>
        Array.from(document.querySelectorAll('[data-timeline] td')).filter(
          (cell) => cell.getBoundingClientRect().right > window.innerWidth,
        ).length,
    );
    expect(outside).toBe(0);
    expect(await noHorizontalScroll(page)).toBe(true);
    expect(await smallText(page, 12)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'order-phone.png'), fullPage: true });

    await page.goto('/orders');
    expect(await noHorizontalScroll(page)).toBe(true);
    expect(await smallText(page, 12)).toEqual([]);
  });

  it('on a desktop: an estimate from the recipe, the caption for the embedded bus, and Order again', async () => {
    const page = await newPage(DESKTOP);
    await logIn(page, 'Again');
    const first = await orderPizza(page);
    // Tomato@Mozzarella@Mushroom@Pepperoni at time scale 0.5: the recipe's seconds halved.
    await expect
      .poll(() => page.locator('[data-estimate]').textContent())
      .toMatch(/^From order to door takes about \d+ s/);
    const caption = await page.locator('[data-flow-caption]').textContent();
    expect(caption).toContain('in-process stand-in');
    expect(caption).not.toContain('Each arrow is a Kafka topic');
    await page.locator('svg.flow-wide[data-stage="bake"]').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'order-desktop-in-progress.png'), fullPage: true });
    await page.locator('[data-status-label]', { hasText: DELIVERED }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'order-desktop-delivered.png'), fullPage: true });

    await page.getByRole('button', { name: 'Order again' }).click();
    await page.waitForURL((url) => /\/orders\/[0-9a-f]{8}$/.test(url.pathname) && !url.pathname.endsWith(first));
    const again = page.url().split('/').pop() as string;
    expect(again).not.toBe(first);
    const pizza = await page.locator('.pizza dd').allTextContents();
    expect(pizza.slice(0, 4)).toEqual(['Tomato', 'Mozzarella', 'Pepperoni', 'Mushroom']);
    // Back and the same button again: the page is not cached, so it carries a fresh key and places a third order.
    await page.goto(`/orders/${first}`);
    await page.getByRole('button', { name: 'Order again' }).click();
    await page.waitForURL((url) => /\/orders\/[0-9a-f]{8}$/.test(url.pathname) && !url.pathname.endsWith(first));
    expect(page.url()).not.toContain(again);
  });
});
