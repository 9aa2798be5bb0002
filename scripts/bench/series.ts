import type { PlacedOrder } from './load.js';
import { percentile, sortedNumbers } from './util.js';

/** One second of a run: orders accepted by the web app, orders delivered in the view, and those deliveries' latency. */
export interface SecondBin {
  /** Seconds since the run's origin (the bin's start). */
  t: number;
  accepted: number;
  delivered: number;
  /** From the POST to delivered in the view, of the orders delivered in this second; null when none were. */
  p50Ms: number | null;
  p99Ms: number | null;
}

/**
 * Bins every order by the second it was accepted and the second it was
 * delivered, from the exact timestamps: the same figures as sampling the view
 * once a second, without a poller competing with the shop for the two cores.
 */
export function perSecond(
  orders: readonly PlacedOrder[],
  delivered: ReadonlyMap<string, number>,
  origin: number,
): SecondBin[] {
  const accepted = new Map<number, number>();
  const latencies = new Map<number, number[]>();
  let last = 0;
  for (const order of orders) {
    const acceptedSecond = Math.floor((order.acceptedAt - origin) / 1000);
    accepted.set(acceptedSecond, (accepted.get(acceptedSecond) ?? 0) + 1);
    last = Math.max(last, acceptedSecond);
    const at = delivered.get(order.orderId);
    if (at === undefined) continue;
    const second = Math.floor((at - origin) / 1000);
    last = Math.max(last, second);
    const list = latencies.get(second) ?? [];
    list.push(at - order.sentAt);
    latencies.set(second, list);
  }
  return Array.from({ length: last + 1 }, (_, t) => {
    const sorted = sortedNumbers(latencies.get(t) ?? []);
    return {
      t,
      accepted: accepted.get(t) ?? 0,
      delivered: sorted.length,
      p50Ms: sorted.length > 0 ? percentile(sorted, 50) : null,
      p99Ms: sorted.length > 0 ? percentile(sorted, 99) : null,
    };
  });
}
