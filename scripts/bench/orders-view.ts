/**
 * The orders view at scale: a web host's SQLite file holding N orders, each
 * with the events and log lines a real order leaves there, then timed as a
 * customer meets it (the order page and "my orders" over HTTP from `pizza
 * serve`) and as the status role meets it (applying one status event).
 *
 * The file is filled through the shop's own stores (OrdersStore.applyEvents,
 * as the status role's writer does, and OrderLogStore.appendMany, as the log
 * projection does), copying one order placed for real through the web app:
 * its events, and its log lines from every role.
 */
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { OrderLogStore } from '../../src/adapters/sqlite/order-log-store.js';
import { type OrderEvent, OrdersStore } from '../../src/adapters/sqlite/orders-store.js';
import { loadSettings } from '../../src/config/settings.js';
import { newCustomerId, newOrderId, type Order } from '../../src/domain/order.js';
import { customers, DeliveryWatch, PIZZA } from './load.js';
import { treeMemory } from './memory.js';
import { type ShopProcesses, startShop } from './shop-process.js';
import { percentile, sleep, sortedNumbers } from './util.js';

export interface OrdersViewOptions {
  bootstrapServers: string;
  partitions: number;
  /** Orders in the view when it is timed. */
  orders: number;
  /** How many of them belong to the customer whose pages are loaded ("my orders" shows up to 100). */
  customerOrders: number;
  /** Requests timed per page, and status events applied one at a time. */
  samples: number;
  workDir: string;
  log?: (line: string) => void;
}

export interface Timing {
  firstMs: number;
  p50Ms: number;
  p95Ms: number;
  samples: number;
}

export interface OrdersViewResult {
  orders: number;
  eventsPerOrder: number;
  logLinesPerOrder: number;
  fillSeconds: number;
  fileMb: number;
  serveStartSeconds: number;
  serveRssMb: number;
  orderPage: Timing & { bytes: number };
  myOrders: Timing & { bytes: number; ordersShown: number };
  /** One event, one transaction, as a quiet status role writes it. */
  applyOneEvent: Timing;
}

const STATUS = { placed: 100, assembled: 200, baked: 300, delivered: 999 };
/** Events per transaction while filling: a busy writer's batch. */
const FILL_BATCH = 2_000;

interface LogTemplate {
  role: string;
  offsetMs: number;
  level: number;
  msg: string;
  fields: Record<string, unknown>;
}

async function timed(samples: number, call: () => Promise<unknown> | unknown): Promise<Timing> {
  const times: number[] = [];
  for (let i = 0; i < samples + 1; i += 1) {
    const started = performance.now();
    await call();
    times.push(performance.now() - started);
  }
  const [first = Number.NaN, ...rest] = times;
  const sorted = sortedNumbers(rest);
  return { firstMs: first, p50Ms: percentile(sorted, 50), p95Ms: percentile(sorted, 95), samples };
}

/** The log lines the view holds for an order, once they stop arriving. */
async function settledLogLines(dbFile: string, orderId: string): Promise<LogTemplate[]> {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const read = db.prepare('SELECT role, time, level, msg, fields FROM order_logs WHERE order_id = ? ORDER BY seq');
    let rows: Array<{ role: string; time: number; level: number; msg: string; fields: string }> = [];
    for (let quiet = 0, waited = 0; quiet < 10 && waited < 100; waited += 1) {
      await sleep(200);
      const next = read.all(orderId) as typeof rows;
      quiet = next.length === rows.length && next.length > 0 ? quiet + 1 : 0;
      rows = next;
    }
    const start = rows[0]?.time ?? 0;
    return rows.map((row) => ({
      role: row.role,
      offsetMs: row.time - start,
      level: row.level,
      msg: row.msg,
      fields: JSON.parse(row.fields) as Record<string, unknown>,
    }));
  } finally {
    db.close();
  }
}

export async function measureOrdersView(options: OrdersViewOptions): Promise<OrdersViewResult> {
  const log = options.log ?? (() => {});
  const shopOptions = {
    bootstrapServers: options.bootstrapServers,
    partitions: options.partitions,
    processing: 'at-least-once' as const,
    layout: 'roles' as const,
    workDir: options.workDir,
  };
  // One order for real, through every role: its customer's session, and what an order leaves in the view.
  let shop: ShopProcesses = await startShop(shopOptions);
  let dbFile = shop.dbFile;
  const [client] = await customers(shop.baseUrl, 1, 'viewbench');
  if (!client) throw new Error('no customer');
  let realOrderId: string;
  let template: LogTemplate[];
  try {
    realOrderId = await client.order(PIZZA);
    const watch = new DeliveryWatch(dbFile);
    await watch.waitFor([realOrderId], 60_000);
    watch.close();
    template = await settledLogLines(dbFile, realOrderId);
  } finally {
    await shop.stop();
  }

  const settings = loadSettings({ config: shop.ini, timeScale: '0' });
  const orders = OrdersStore.open(dbFile);
  const logs = OrderLogStore.open(dbFile);
  const customerId = orders.getOrder(realOrderId)?.customerId;
  if (!customerId) throw new Error(`the order placed for real (${realOrderId}) is not in the view`);
  log(`filling the view with ${options.orders.toLocaleString('en-US')} orders (${template.length} log lines each)...`);

  const fillStarted = Date.now();
  const taken = new Set([realOrderId]);
  const nextOffset = new Map<string, number>();
  const source = (topic: string, partition: number) => {
    const key = `${topic}\u0000${partition}`;
    // Far past anything the real order used, so no record is mistaken for a repeat.
    const offset = nextOffset.get(key) ?? 1_000_000_000;
    nextOffset.set(key, offset + 1);
    return { topic, partition, offset: String(offset) };
  };
  const topicOf: Record<number, string> = {
    [STATUS.placed]: settings.topics.ordered,
    [STATUS.assembled]: settings.topics.assembled,
    [STATUS.baked]: settings.topics.baked,
    [STATUS.delivered]: settings.topics.delivered,
  };
  const now = Date.now();
  const span = 3_600_000; // the last hour: well inside the view's retention
  const undelivered: string[] = [];
  let events = 0;
  let eventBatch: Array<{ event: OrderEvent; order?: Order; idempotencyKey?: string }> = [];
  let lineBatch: Parameters<OrderLogStore['appendMany']>[0][number][] = [];
  const flush = () => {
    orders.applyEvents(eventBatch, settings.statuses);
    logs.appendMany(lineBatch);
    eventBatch = [];
    lineBatch = [];
  };
  for (let index = 1; index < options.orders; index += 1) {
    const orderId = newOrderId((id) => taken.has(id), settings.shop.orderIdLength);
    taken.add(orderId);
    const mine = index < options.customerOrders;
    const order: Order = {
      orderId,
      customerId: mine ? customerId : newCustomerId(),
      username: mine ? 'viewbench0' : `customer${index}`,
      ...PIZZA,
    };
    const partition = index % options.partitions;
    const placedAt = now - span + Math.floor((index / options.orders) * span);
    // One in ten is still in the oven: the events applied one at a time below deliver those.
    const stages =
      index % 10 === 0
        ? [STATUS.placed, STATUS.assembled, STATUS.baked]
        : [STATUS.placed, STATUS.assembled, STATUS.baked, STATUS.delivered];
    if (stages.length === 3) undelivered.push(orderId);
    for (const [step, status] of stages.entries()) {
      const at = placedAt + step * 10;
      const event = {
        orderId,
        ...source(topicOf[status] as string, partition),
        status,
        eventTimestamp: at,
        receivedAt: at,
      };
      eventBatch.push(step === 0 ? { event, order, idempotencyKey: randomUUID() } : { event });
      events += 1;
    }
    for (const line of template) {
      lineBatch.push({
        orderId,
        value: {
          role: line.role,
          time: placedAt + line.offsetMs,
          level: line.level,
          msg: line.msg,
          fields: line.fields,
        },
        source: source(settings.topics.logs, partition),
      });
    }
    if (eventBatch.length >= FILL_BATCH) flush();
  }
  flush();
  const fillSeconds = (Date.now() - fillStarted) / 1000;

  // A status event on a view this size: one transaction each, as when orders trickle in.
  let next = 0;
  const applyOneEvent = await timed(Math.min(options.samples * 10, undelivered.length - 1), () => {
    const orderId = undelivered[next++] as string;
    const at = Date.now();
    orders.applyEvents(
      [
        {
          event: {
            orderId,
            ...source(settings.topics.delivered, 0),
            status: STATUS.delivered,
            eventTimestamp: at,
            receivedAt: at,
          },
        },
      ],
      settings.statuses,
    );
  });
  const myOrderId = orders.listOrders(customerId, 1)[0]?.orderId ?? realOrderId;
  logs.close();
  orders.close();
  const fileMb =
    ['', '-wal']
      .map((suffix) => {
        try {
          return statSync(`${dbFile}${suffix}`).size;
        } catch {
          return 0;
        }
      })
      .reduce((sum, size) => sum + size, 0) /
    1024 /
    1024;

  // The web host on the filled file, as a customer meets it.
  log('timing the pages on the filled view...');
  const serveStarted = Date.now();
  shop = await startShop({ ...shopOptions, only: ['serve'] });
  const serveStartSeconds = (Date.now() - serveStarted) / 1000;
  dbFile = shop.dbFile;
  try {
    client.switchTo(shop.baseUrl);
    let orderPageHtml = '';
    let myOrdersHtml = '';
    const orderPage = await timed(options.samples, async () => {
      orderPageHtml = await client.page(`/orders/${myOrderId}`);
    });
    const myOrders = await timed(options.samples, async () => {
      myOrdersHtml = await client.page('/orders');
    });
    if (!orderPageHtml.includes(myOrderId))
      throw new Error(`the order page did not show ${myOrderId}: ${orderPageHtml.slice(0, 200)}`);
    const serveRssMb = treeMemory(shop.pids.serve ?? 0).main.peakMb;
    return {
      orders: options.orders,
      eventsPerOrder: (events + 4) / options.orders,
      logLinesPerOrder: template.length,
      fillSeconds,
      fileMb,
      serveStartSeconds,
      serveRssMb,
      orderPage: { ...orderPage, bytes: Buffer.byteLength(orderPageHtml) },
      myOrders: {
        ...myOrders,
        bytes: Buffer.byteLength(myOrdersHtml),
        ordersShown: new Set(myOrdersHtml.match(/\/orders\/[0-9a-f]{8,32}\b/g) ?? []).size,
      },
      applyOneEvent,
    };
  } finally {
    await shop.stop();
  }
}
