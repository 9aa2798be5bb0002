import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type OrderAnswer, type PizzaForm, ShopHttpClient } from './http-client.js';

export const DELIVERED_LABEL = 'Your pizza was delivered';
/** How often an order's page is read while waiting for its delivery: the measurement's resolution. */
const POLL_MS = 50;

export interface FloodResult {
  tried: number;
  placed: number;
  /** How many answers of each HTTP status. */
  byStatus: Record<number, number>;
  seconds: number;
  /** One refusal of each status, to check the page and its Retry-After. */
  refusals: OrderAnswer[];
}

/**
 * One client, one session and one keep-alive connection sends `tries` order
 * forms as fast as the shop answers: the flood of issue 21.
 */
export async function floodOrders(baseUrl: string, tries: number, choice: PizzaForm): Promise<FloodResult> {
  const client = new ShopHttpClient(baseUrl, { maxSockets: 1 });
  await client.login('flood');
  const started = performance.now();
  // All queued at once on the one socket: each goes as soon as the one before is answered.
  const answers = await Promise.all(Array.from({ length: tries }, () => client.tryOrder(choice)));
  const seconds = (performance.now() - started) / 1000;
  const byStatus: Record<number, number> = {};
  const refusals = new Map<number, OrderAnswer>();
  for (const answer of answers) {
    byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
    if (answer.orderId === undefined && !refusals.has(answer.status)) refusals.set(answer.status, answer);
  }
  const placed = answers.filter((answer) => answer.orderId !== undefined).length;
  return { tried: tries, placed, byStatus, seconds, refusals: [...refusals.values()] };
}

/** Places one order and returns it with the seconds until its page says it was delivered. */
export async function timedDelivery(
  client: ShopHttpClient,
  choice: PizzaForm,
  timeoutMs: number,
): Promise<{ orderId: string; seconds: number; page: string }> {
  const started = performance.now();
  const orderId = await client.order(choice);
  // Its own polling, not vi.waitFor: this also runs outside vitest, for measurements by hand.
  for (;;) {
    const page = await client.page(`/orders/${orderId}`);
    const seconds = (performance.now() - started) / 1000;
    if (page.includes(DELIVERED_LABEL) || seconds * 1000 > timeoutMs) return { orderId, seconds, page };
    await sleep(POLL_MS);
  }
}
