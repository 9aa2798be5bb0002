import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { encodeEvent, orderedEvent } from '../../src/domain/events.js';
import { type RunningPizza, startPizza } from '../support/cli.js';
import { ShopHttpClient } from '../support/http-client.js';
import { writeShopIni } from '../support/ini.js';
import {
  createShopTopics,
  kafkaTestSettings,
  rawProducer,
  readTopic,
  waitForGroupCommitted,
} from '../support/kafka.js';
import { sampleOrder } from '../support/shop.js';

/**
 * Several hosts on one machine: every process has its own data and log dir,
 * as on separate machines, and they share only the broker and the ini's
 * settings (topics, groups, session secret).
 */
describe('several hosts, all state from Kafka (issue 9)', () => {
  it('serves any order from any web host, survives a deliver host dying with pizzas pending, and rebuilds a wiped web host', async () => {
    const settings = kafkaTestSettings({ partitions: 4 });
    await createShopTopics(settings);
    const root = settings.shop.dataDir;
    const ini = writeShopIni(settings, {
      time_scale: '0.01',
      status_source: 'topics',
      port: 0,
      session_secret: 'shared-by-every-web-host-0123456789abcdef',
    });
    const running: RunningPizza[] = [];
    onTestFinished(async () => {
      await Promise.all(running.map((pizza) => pizza.stop()));
    });
    const host = (name: string, role: string) => {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      const pizza = startPizza([role, '--config', ini, '--data-dir', dir, '--log-dir', join(dir, 'logs')]);
      running.push(pizza);
      return { pizza, dir };
    };
    const ready = (pizza: RunningPizza) => pizza.waitForLine(/pizza shop open at|pizza \w+ running/, 60_000);
    const webUrl = async (pizza: RunningPizza) =>
      (await pizza.waitForLine(/pizza shop open at (http:\/\/[^\s"]+)/, 60_000))[1] ?? '';

    const webA = host('web-a', 'serve');
    let webB = host('web-b', 'serve');
    const kitchen = ['assemble', 'assemble', 'bake', 'bake'].map((role, index) => host(`${role}-${index}`, role));
    const deliver1 = host('deliver-1', 'deliver');
    const deliver2 = host('deliver-2', 'deliver');
    for (const { pizza } of [webA, webB, ...kitchen, deliver1, deliver2]) await ready(pizza);
    const urlA = await webUrl(webA.pizza);
    let urlB = await webUrl(webB.pizza);

    // A customer orders on host A and follows the order on host B, and the other way round.
    const customer = new ShopHttpClient(urlA);
    await customer.login('roaming');
    const choice = { sauce: 'Pesto', cheese: 'Gouda', mainTopping: 'Chicken', extraToppings: ['Onion'] };
    const placedOnA = [await customer.order(choice), await customer.order(choice)];
    customer.switchTo(urlB);
    await customer.page('/menu');
    const placedOnB = [await customer.order(choice)];
    const orders = [...placedOnA, ...placedOnB];
    for (const orderId of placedOnA) {
      expect(await customer.waitForPage(`/orders/${orderId}`, 'Your pizza was delivered', 60_000)).toContain(
        'Your pizza was delivered',
      );
      // bake ran on other hosts; its lines reach web host B through the log topic.
      expect(await customer.waitForPage(`/orders/${orderId}/logs/bake`, 'Baked, ready for delivery', 30_000)).toContain(
        'Baked, ready for delivery',
      );
    }
    customer.switchTo(urlA);
    for (const orderId of placedOnB) {
      expect(await customer.waitForPage(`/orders/${orderId}`, 'Your pizza was delivered', 60_000)).toContain(
        'Your pizza was delivered',
      );
    }

    // Pizzas pending on whichever deliver host owns them, then one deliver host dies.
    const producer = await rawProducer();
    const pendingOrders = Array.from({ length: 12 }, () => sampleOrder());
    const warnedOrders = Array.from({ length: 12 }, () => sampleOrder());
    const now = Date.now();
    await producer.send({
      topic: settings.topics.baked,
      messages: pendingOrders.map((order) => ({
        key: order.orderId,
        value: encodeEvent({ status: 300, timestamp: now }),
      })),
    });
    await producer.send({
      topic: settings.topics.ordered,
      messages: warnedOrders.map((order) => ({
        key: order.orderId,
        value: encodeEvent(orderedEvent(order, 100, now)),
      })),
    });
    await readTopic(settings.topics.pending, pendingOrders.length, 60_000);
    // The deliver hosts have acknowledged the early warnings they hold: committed past them.
    await waitForGroupCommitted(settings.groupIds.deliver, [settings.topics.ordered, settings.topics.baked]);
    deliver1.pizza.child.kill('SIGKILL');
    const killedAt = Date.now();

    await producer.send({
      topic: settings.topics.ordered,
      messages: pendingOrders.map((order) => ({
        key: order.orderId,
        value: encodeEvent(orderedEvent(order, 100, now + 1)),
      })),
    });
    await producer.send({
      topic: settings.topics.baked,
      messages: warnedOrders.map((order) => ({
        key: order.orderId,
        value: encodeEvent({ status: 300, timestamp: now + 1 }),
      })),
    });
    const expected = new Set([...pendingOrders, ...warnedOrders].map((order) => order.orderId));
    const delivered = await readTopic(settings.topics.delivered, orders.length + expected.size, 90_000);
    const failoverMs = Date.now() - killedAt;
    const deliveredKeys = new Set(delivered.map((record) => record.key));
    for (const orderId of expected) expect(deliveredKeys.has(orderId), orderId).toBe(true);

    // Web host B loses its disk: it comes back with every order, from the topics alone.
    await webB.pizza.stop();
    rmSync(webB.dir, { recursive: true, force: true });
    const rebuildStarted = Date.now();
    webB = host('web-b', 'serve');
    urlB = await webUrl(webB.pizza);
    customer.switchTo(urlB);
    const listed = await vi.waitFor(
      async () => {
        const page = await customer.page('/orders');
        const missing = orders.filter((orderId) => !page.includes(orderId));
        if (missing.length > 0)
          throw new Error(`web host B's order list, rebuilt from the topics, lacks ${missing.join(', ')}`);
        return page;
      },
      { timeout: 60_000, interval: 200 },
    );
    const rebuildMs = Date.now() - rebuildStarted;
    for (const orderId of orders) expect(listed).toContain(orderId);
    expect(await customer.waitForPage(`/orders/${orders[0]}`, 'Your pizza was delivered', 30_000)).toContain(
      'Your pizza was delivered',
    );
    console.log(
      `multi-host: ${orders.length} web orders + ${expected.size} kitchen orders; deliver failover to all delivered ${failoverMs} ms; web host rebuilt from the topics in ${rebuildMs} ms`,
    );
  }, 240_000);
});
