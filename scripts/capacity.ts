/**
 * How long 20 orders placed at once take, against one order alone, on the
 * embedded bus at the same time scale: `npm run bench:capacity`.
 * Run with `-- --capacity 1` to see the workshop's one-at-a-time kitchen.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { EmbeddedBus } from '../src/adapters/bus/embedded.js';
import { OrdersStore } from '../src/adapters/sqlite/orders-store.js';
import { loadSettings } from '../src/config/settings.js';
import { encodeEvent, orderedEvent } from '../src/domain/events.js';
import { newCustomerId, newOrderId, type Order } from '../src/domain/order.js';
import { startShop } from '../src/roles/shop.js';

const { values } = parseArgs({
  options: {
    'time-scale': { type: 'string', default: '0.05' },
    capacity: { type: 'string' },
    orders: { type: 'string', default: '20' },
  },
});

async function run(orderCount: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-capacity-'));
  const settings = loadSettings({
    dataDir: dir,
    logDir: join(dir, 'logs'),
    timeScale: values['time-scale'],
    capacity: values.capacity,
  });
  const root = pino({ level: 'silent' });
  const bus = new EmbeddedBus({ partitions: settings.topicConfig.numPartitions });
  const shop = await startShop({
    settings,
    roles: ['assemble', 'bake', 'deliver', 'status'],
    logs: { root, forRole: () => root, flush: () => {} },
    bus,
  });
  const store = OrdersStore.open(join(dir, settings.orders.fileName));
  const menu = settings.menu;
  const orders: Order[] = Array.from({ length: orderCount }, (_, i) => ({
    orderId: newOrderId(),
    customerId: newCustomerId(),
    username: `guest${i}`,
    sauce: menu.sauce[i % menu.sauce.length] ?? 'Tomato',
    cheese: menu.cheese[i % menu.cheese.length] ?? 'Mozzarella',
    mainTopping: menu.mainTopping[i % menu.mainTopping.length] ?? 'Pepperoni',
    extraToppings: [],
  }));
  const started = Date.now();
  for (const order of orders) {
    const status = settings.statuses.ids.order_placed;
    await bus.publish(settings.topics.ordered, order.orderId, encodeEvent(orderedEvent(order, status, started)));
    store.placeOrder(order, { status, timestamp: started }, settings.statuses, started);
  }
  while (orders.some((order) => store.getStatus(order.orderId)?.status !== settings.statuses.ids.delivered)) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const elapsed = Date.now() - started;
  store.close();
  await shop.stop();
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
  return elapsed;
}

const count = Number(values.orders);
const capacity = values.capacity ?? 'default (assemble 8, bake 8, deliver 16)';
const one = await run(1);
const many = await run(count);
console.log(`time scale ${values['time-scale']}, capacity ${capacity}, embedded bus, 1 partition`);
console.log(`  1 order alone:          ${(one / 1000).toFixed(2)} s`);
console.log(`  ${count} orders at once:      ${(many / 1000).toFixed(2)} s  (${(many / one).toFixed(2)}× one order)`);
