/**
 * `npx tsx scripts/micro/logs.ts`: what an order's log lines cost.
 *
 * 1. Logging: role loggers from `createLoggerFactory` with a log dir, the
 *    console on stdout redirected to a file (a child process, as a service
 *    runs), and the order-log sink publishing to a fake bus. Lines are logged
 *    as the roles do (a child with the order id, a message, a few fields), a
 *    hundred orders per turn of the event loop; the figure is CPU time per
 *    line until every line is written and published (the deferred writes count).
 * 2. The projection: records of the log topic decoded and appended to an
 *    OrderLogStore on a temp file, eight records per turn (as the host reader
 *    hands them over): CPU time per line.
 *
 * LOG_LINES (100,000) and REPS (3) change the size. Results go to stderr.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusRecord } from '../../src/adapters/bus/bus.js';
import { createLoggerFactory } from '../../src/adapters/logs/logger.js';
import { encodeOrderLogBatch, orderLogRecord } from '../../src/adapters/logs/order-log-line.js';
import { OrderLogStore } from '../../src/adapters/sqlite/order-log-store.js';
import { SqliteFile } from '../../src/adapters/sqlite/sqlite-file.js';
import { applyOrderLogRecord, orderLogWriter } from '../../src/roles/order-logs.js';

const LINES = Number(process.env.LOG_LINES ?? 100_000);
const REPS = Number(process.env.REPS ?? 3);
const ORDERS_PER_TURN = 100;
const LINES_PER_RECORD = 120;
const RECORDS_PER_TURN = 8;

const say = (text: string) => process.stderr.write(`${text}\n`);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

function orderId(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** One order's twelve lines, as serve, assemble, bake and deliver write them. */
type Role = ReturnType<ReturnType<typeof createLoggerFactory>['forRole']>;
function logOrder(roles: Record<'serve' | 'assemble' | 'bake' | 'deliver', Role>, n: number): void {
  const id = orderId(n);
  const serve = roles.serve.child({ orderId: id });
  serve.info({ sauce: 'tomato', cheese: 'mozzarella', customer: 'c-1234' }, 'order placed');
  serve.info({ partition: n % 4 }, 'order published');
  serve.info({ status: 'ordered' }, 'status page opened');
  const assemble = roles.assemble.child({ orderId: id });
  assemble.info({ assemblingSeconds: 4, sauce: 'tomato', cheese: 'mozzarella' }, 'assembling the pizza');
  assemble.info({ bakingSeconds: 9 }, 'pizza assembled, off to the oven');
  assemble.info({ waitedMs: 12 }, 'handed to the oven');
  const bake = roles.bake.child({ orderId: id });
  bake.info({ bakingSeconds: 9 }, 'baking the pizza');
  bake.info('pizza baked, ready for delivery');
  bake.info({ oven: 2 }, 'oven free');
  const deliver = roles.deliver.child({ orderId: id });
  deliver.info('early warning: order noted, waiting for the pizza');
  deliver.info({ deliverySeconds: 21, factor: 1.2 }, 'out for delivery');
  deliver.info('pizza delivered');
}

async function logPart(): Promise<void> {
  for (let rep = 0; rep < REPS; rep += 1) {
    const logDir = mkdtempSync(join(tmpdir(), 'pizza-micro-logs-'));
    const logs = createLoggerFactory({ level: 'info', logDir });
    let published = 0;
    let bytes = 0;
    const sink = logs.attachOrderLogSink?.(async (_key, value) => {
      published += 1;
      bytes += value.length;
    });
    const roles = {
      serve: logs.forRole('serve'),
      assemble: logs.forRole('assemble'),
      bake: logs.forRole('bake'),
      deliver: logs.forRole('deliver'),
    };
    await logs.settled?.();
    const orders = Math.ceil(LINES / 12);
    const cpuStart = cpuMicros();
    const wallStart = performance.now();
    let inCall = 0;
    for (let n = 0; n < orders; n += ORDERS_PER_TURN) {
      const t0 = performance.now();
      for (let i = n; i < Math.min(orders, n + ORDERS_PER_TURN); i += 1) logOrder(roles, i);
      inCall += performance.now() - t0;
      await turn();
    }
    const stats = await sink?.close(60_000);
    logs.flush();
    // Deferred file writes land on the thread pool; wait for them to count their callbacks too.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const cpu = cpuMicros() - cpuStart;
    const wall = performance.now() - wallStart;
    const lines = orders * 12;
    const fileBytes = ['serve', 'assemble', 'bake', 'deliver'].reduce(
      (sum, role) => sum + statSync(join(logDir, role, 'current.log')).size,
      0,
    );
    say(
      `logging rep ${rep + 1}: ${(cpu / lines).toFixed(2)} µs CPU/line, ${((inCall * 1000) / lines).toFixed(2)} µs/line in the log calls, ` +
        `${((wall * 1000) / lines).toFixed(2)} µs wall/line; ${lines} lines, ${stats?.published} published in ${published} records ` +
        `(${Math.round(bytes / 1024)} KB), files ${Math.round(fileBytes / 1024)} KB`,
    );
    rmSync(logDir, { recursive: true, force: true });
  }
}

/** Records of the log topic as a shop's sink writes them. */
function topicRecords(lines: number): BusRecord[] {
  const records: BusRecord[] = [];
  for (let start = 0; start < lines; start += LINES_PER_RECORD) {
    const batch = [];
    for (let i = start; i < Math.min(lines, start + LINES_PER_RECORD); i += 1) {
      const record = orderLogRecord({
        level: 30,
        time: Date.now(),
        role: ['serve', 'assemble', 'bake', 'deliver'][i % 4],
        orderId: orderId(Math.floor(i / 12)),
        bakingSeconds: 9,
        sauce: 'tomato',
        msg: 'baking the pizza',
      });
      if (record) batch.push(record);
    }
    records.push({
      topic: 'pizza-logs',
      partition: records.length % 4,
      offset: String(Math.floor(records.length / 4)),
      key: 'host.1',
      keyBytes: null,
      value: encodeOrderLogBatch(batch),
      timestamp: Date.now(),
      headers: {},
    });
  }
  return records;
}

async function projectPart(): Promise<void> {
  const records = topicRecords(LINES);
  for (let rep = 0; rep < REPS; rep += 1) {
    const dir = mkdtempSync(join(tmpdir(), 'pizza-micro-logstore-'));
    const file = new SqliteFile(join(dir, 'orders.db'));
    const store = new OrderLogStore(file);
    const writer = orderLogWriter(store);
    const deps = { writer, now: Date.now(), retentionMs: 3_600_000 };
    let stored = 0;
    const cpuStart = cpuMicros();
    const wallStart = performance.now();
    for (let i = 0; i < records.length; i += RECORDS_PER_TURN) {
      const applied = await Promise.all(
        records.slice(i, i + RECORDS_PER_TURN).map((record) => applyOrderLogRecord(record, deps)),
      );
      for (const one of applied) stored += one.stored;
    }
    const cpu = cpuMicros() - cpuStart;
    const wall = performance.now() - wallStart;
    say(
      `projection rep ${rep + 1}: ${(cpu / stored).toFixed(2)} µs CPU/line, ${((wall * 1000) / stored).toFixed(2)} µs wall/line; ` +
        `${stored} lines from ${records.length} records`,
    );
    file.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const part = process.argv[2];
  if (part === 'log') return logPart();
  if (part === 'project') return projectPart();
  // The console goes to a file, as a service's stdout does: a child process with stdout redirected.
  const dir = mkdtempSync(join(tmpdir(), 'pizza-micro-stdout-'));
  const stdout = openSync(join(dir, 'stdout.log'), 'w');
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', 'log'], {
    stdio: ['ignore', stdout, 'inherit'],
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  say(`(console: ${Math.round(statSync(join(dir, 'stdout.log')).size / 1024)} KB of JSON on stdout)`);
  rmSync(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`the logging part exited with ${code}`);
  await projectPart();
}

main().catch((error: unknown) => {
  say(String(error instanceof Error ? (error.stack ?? error) : error));
  process.exit(1);
});
