/**
 * Micro-benchmark of the SQLite write path under the shop's load pattern:
 * `npx tsx scripts/micro/sqlite-turns.ts [orders/s] [seconds] [arrivals per turn]`.
 *
 * Simulates what `pizza all` writes, in this one process, without Kafka or
 * HTTP: per order, on orders.db, a placement (idempotency lookup + insert,
 * awaited), its confirmation, four view events (ViewWriter, with their status
 * lines) and four roles' log lines (the order-logs projection); on deliver's
 * file, three cache writes (`writeNow`). Each arrival runs in a turn of the
 * event loop of its own, as records and requests arrive in the shop, so every
 * write is a small one. Prints CPU µs per order (user + system), commits per
 * second per file, and then the latency of a lone placement on a quiet file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliveryStore } from '../../src/adapters/sqlite/delivery-store.js';
import { OrderLogStore } from '../../src/adapters/sqlite/order-log-store.js';
import { OrdersStore } from '../../src/adapters/sqlite/orders-store.js';
import { SqliteFile } from '../../src/adapters/sqlite/sqlite-file.js';
import { TurnBatch } from '../../src/adapters/sqlite/turn-batch.js';
import { ViewWriter } from '../../src/adapters/sqlite/view-writer.js';
import { loadSettings } from '../../src/config/settings.js';
import { newCustomerId, newOrderId, type Order } from '../../src/domain/order.js';

const RATE = Number(process.argv[2] ?? 500);
const SECONDS = Number(process.argv[3] ?? 6);
const PER_TURN = Number(process.argv[4] ?? 1);
/** The files' commit interval (ms), when given; the default otherwise. */
const INTERVAL = process.argv[5] === undefined ? undefined : Number(process.argv[5]);
const WARMUP_SECONDS = 1;

type Action = { at: number; run: () => void };

/** Counts a file's commits: its own counter when it has one, else its `COMMIT` statements. */
function commitCounter(file: SqliteFile): () => number {
  const counted = file as unknown as { commits?: number };
  if (typeof counted.commits === 'number') return () => counted.commits as number;
  let commits = 0;
  const exec = file.db.exec.bind(file.db);
  file.db.exec = (sql: string) => {
    if (sql === 'COMMIT') commits += 1;
    return exec(sql);
  };
  return () => commits;
}

async function loadRun(dir: string) {
  const settings = loadSettings({ dataDir: dir, logDir: join(dir, 'logs'), port: '0', timeScale: '0' });
  const catalog = settings.statuses;
  const ordersFile = new SqliteFile(join(dir, 'orders.db'), INTERVAL);
  const deliveryFile = new SqliteFile(join(dir, 'delivery.db'), INTERVAL);
  const store = new OrdersStore(ordersFile);
  const logs = new OrderLogStore(ordersFile);
  const view = new ViewWriter(store, catalog, logs);
  const logWriter = new TurnBatch<LogItem, boolean>(
    (lines, positions) => logs.appendMany(lines, positions),
    ordersFile.write,
  );
  const delivery = new DeliveryStore(deliveryFile);
  const ordersCommits = commitCounter(ordersFile);
  const deliveryCommits = commitCounter(deliveryFile);

  const stages = [
    { topic: settings.topics.ordered, status: 100, role: 'web' },
    { topic: settings.topics.assembled, status: 200, role: 'assemble' },
    { topic: settings.topics.baked, status: 300, role: 'bake' },
    { topic: settings.topics.delivered, status: catalog.ids.delivered, role: 'deliver' },
  ];
  const total = Math.round(RATE * (SECONDS + WARMUP_SECONDS));
  const actions: Action[] = [];
  let offset = 0;
  let logOffset = 0;
  let pending = 0;
  /** From a placement's call to its commit, in the measured phase. */
  const placementLatencies: number[] = [];
  const settled = () => {
    pending -= 1;
  };
  for (let index = 0; index < total; index += 1) {
    const t0 = (index / RATE) * 1000;
    const order: Order = {
      orderId: newOrderId(),
      customerId: newCustomerId(),
      username: 'bench',
      sauce: 'Tomato',
      cheese: 'Mozzarella',
      mainTopping: 'Pepperoni',
      extraToppings: ['Mushroom'],
    };
    const key = crypto.randomUUID();
    const at = (ms: number, run: () => void) => actions.push({ at: t0 + ms, run });
    at(0, () => {
      pending += 1;
      const calledAt = performance.now();
      void store
        .shared((writes) => writes.beginPlacement(order, key, Date.now()))
        .then(() => {
          if (t0 >= WARMUP_SECONDS * 1000) placementLatencies.push(performance.now() - calledAt);
          settled();
        });
    });
    at(2, () => {
      pending += 1;
      void store
        .shared((writes) => writes.confirmPlacement(order.orderId, { status: 100, timestamp: t0 }, catalog, Date.now()))
        .then(settled);
    });
    stages.forEach((stage, stageIndex) => {
      const stageAt = 3 + stageIndex * 10;
      at(stageAt, () => {
        offset += 1;
        const eventOffset = String(offset);
        pending += 1;
        void view
          .apply(
            {
              orderId: order.orderId,
              topic: stage.topic,
              partition: 0,
              offset: eventOffset,
              status: stage.status,
              eventTimestamp: Date.now(),
              receivedAt: Date.now(),
            },
            stageIndex === 0 ? order : undefined,
            stageIndex === 0 ? key : undefined,
          )
          .then(settled);
        view.notePosition({ topic: stage.topic, partition: 0, offset: String(Number(eventOffset) + 1) });
      });
      at(stageAt + 1, () => {
        pending += 1;
        logOffset += 1;
        void logWriter
          .submit({
            orderId: order.orderId,
            value: { time: Date.now(), level: 30, role: stage.role, msg: `${stage.role} did its part`, fields: {} },
            source: { topic: 'pizza-logs', partition: 0, offset: String(logOffset) },
          })
          .then(settled);
      });
      if (stageIndex > 0) {
        at(stageAt + 2, () => {
          const state = stageIndex === 3 ? 'delivered' : stageIndex === 2 ? 'pending' : 'awaiting-pizza';
          delivery.put(
            order.orderId,
            state === 'pending' ? { state } : { state, customerId: order.customerId },
            Date.now(),
            0,
          );
        });
      }
    });
  }
  actions.sort((a, b) => a.at - b.at);

  const started = performance.now();
  let next = 0;
  let measureFrom: { cpu: NodeJS.CpuUsage; at: number; orders: number; commits: [number, number] } | undefined;
  let maxLateMs = 0;
  await new Promise<void>((done) => {
    const pump = () => {
      const now = performance.now() - started;
      if (!measureFrom && now >= WARMUP_SECONDS * 1000) {
        measureFrom = {
          cpu: process.cpuUsage(),
          at: performance.now(),
          orders: Math.floor((now / 1000) * RATE),
          commits: [ordersCommits(), deliveryCommits()],
        };
      }
      let ran = 0;
      while (next < actions.length && (actions[next] as Action).at <= now && ran < PER_TURN) {
        const action = actions[next] as Action;
        maxLateMs = Math.max(maxLateMs, now - action.at);
        action.run();
        next += 1;
        ran += 1;
      }
      if (next >= actions.length) {
        done();
        return;
      }
      // One arrival (or PER_TURN) per turn; an idle pump sleeps until the next one is due.
      if ((actions[next] as Action).at <= performance.now() - started) setImmediate(pump);
      else setTimeout(pump, Math.max(0, (actions[next] as Action).at - (performance.now() - started)));
    };
    pump();
  });
  while (pending > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const from = measureFrom as NonNullable<typeof measureFrom>;
  const cpu = process.cpuUsage(from.cpu);
  const seconds = (performance.now() - from.at) / 1000;
  const orders = total - from.orders;
  const result = {
    cpuUsPerOrder: (cpu.user + cpu.system) / orders,
    ordersCommitsPerSecond: (ordersCommits() - from.commits[0]) / seconds,
    deliveryCommitsPerSecond: (deliveryCommits() - from.commits[1]) / seconds,
    maxLateMs,
    placementP50: percentile(placementLatencies, 0.5),
    placementP99: percentile(placementLatencies, 0.99),
  };
  if (store.countByStatus().find((row) => row.status === catalog.ids.delivered)?.count !== total) {
    throw new Error(`not every order delivered in the view: ${JSON.stringify(store.countByStatus())}`);
  }
  ordersFile.close();
  deliveryFile.close();
  return result;
}

function percentile(values: number[], rank: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * rank))] ?? 0;
}

type LogItem = Parameters<OrderLogStore['appendMany']>[0][number];

/** A placement alone on a quiet file: from the call to its commit. */
async function loneLatency(dir: string): Promise<{ p50: number; p99: number }> {
  const file = new SqliteFile(join(dir, 'lone.db'), INTERVAL);
  const store = new OrdersStore(file);
  const latencies: number[] = [];
  for (let index = 0; index < 200; index += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const order: Order = {
      orderId: newOrderId(),
      customerId: newCustomerId(),
      username: 'lone',
      sauce: 'Tomato',
      cheese: 'Mozzarella',
      mainTopping: 'Pepperoni',
      extraToppings: [],
    };
    const startedAt = performance.now();
    await store.shared((writes) => writes.beginPlacement(order, crypto.randomUUID(), Date.now()));
    latencies.push(performance.now() - startedAt);
  }
  file.close();
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-micro-sqlite-'));
  try {
    const result = await loadRun(dir);
    const lone = await loneLatency(dir);
    console.log(
      `${RATE}/s, ${PER_TURN} arrival(s)/turn, interval ${INTERVAL ?? 'default'}: ${result.cpuUsPerOrder.toFixed(0)} µs CPU/order, ` +
        `commits/s orders.db ${result.ordersCommitsPerSecond.toFixed(0)}, delivery.db ${result.deliveryCommitsPerSecond.toFixed(0)}, ` +
        `max late ${result.maxLateMs.toFixed(1)} ms; placement under load p50 ${result.placementP50.toFixed(2)} ms, ` +
        `p99 ${result.placementP99.toFixed(2)} ms; lone placement p50 ${(lone.p50 * 1000).toFixed(0)} µs, p99 ${(lone.p99 * 1000).toFixed(0)} µs`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
