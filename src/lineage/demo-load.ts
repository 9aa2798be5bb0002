import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { newCustomerId, newOrderId, type Order } from '../domain/order.js';

/** Bounds of a demo burst (the lineage page's load form, `pizza load`): enough to see a queue, not to flood a broker. */
export const DEMO_LOAD_LIMITS = { maxOrders: 500, maxRate: 50 } as const;

/** Demo orders at a steady rate, through the same placement path as a customer's. */
export class DemoLoad {
  private readonly customerId = newCustomerId();
  private timer: NodeJS.Timeout | undefined;
  total = 0;
  placed = 0;
  failed = 0;

  constructor(private readonly fastify: FastifyInstance) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(orders: number, rate: number): void {
    this.total = orders;
    this.placed = 0;
    this.failed = 0;
    let started = 0;
    this.timer = setInterval(() => {
      if (started >= orders || this.fastify.closing.aborted) return this.stop();
      started += 1;
      void this.placeOne();
    }, 1000 / rate);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async placeOne(): Promise<void> {
    const { settings, store } = this.fastify.shop;
    const { menu } = settings;
    const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
    const extras = menu.extraToppings.filter(() => Math.random() < 0.25).slice(0, 3);
    const order: Order = {
      orderId: newOrderId((orderId) => store.getOrder(orderId) !== undefined, settings.shop.orderIdLength),
      customerId: this.customerId,
      username: 'demo',
      sauce: pick(menu.sauce),
      cheese: pick(menu.cheese),
      mainTopping: pick(menu.mainTopping),
      extraToppings: extras,
    };
    try {
      const outcome = await this.fastify.placement.place(order, randomUUID(), this.fastify.closing);
      if (outcome.placed) {
        this.placed += 1;
        this.fastify.metrics.ordersPlaced.inc();
      } else this.failed += 1;
    } catch {
      this.failed += 1;
    }
  }
}

/** Where the last or current burst stands, in words for the page. */
export function loadText(load: DemoLoad): string {
  if (load.total === 0) return '';
  const failed = load.failed > 0 ? `, ${load.failed} not placed` : '';
  return load.running
    ? `Placing demo orders: ${load.placed} of ${load.total} placed${failed}.`
    : `Last burst: ${load.placed} of ${load.total} demo orders placed${failed}.`;
}
