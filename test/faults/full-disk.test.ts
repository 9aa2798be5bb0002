import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { settingVariableName } from '../../src/config/environment.js';
import { reportAndCheck } from '../support/faults-checks.js';
import { operatorUrl, startWithEnv } from '../support/faults-env.js';
import {
  deliveredInView,
  deliveredOnTopic,
  OrderPlacer,
  waitForDelivered,
  withView,
} from '../support/faults-orders.js';
import { type FaultRole, FaultShop, type RoleProcess } from '../support/faults-shop.js';
import { kafkaBootstrap } from '../support/kafka.js';

/** The status role's cap on the view's file, a product setting: `[state-store-orders] max_size_mb`. */
const CAP_MB = 4;
const FULL_LINE = / is full: /;
const ROOM_LINE = / has room again/;

/**
 * Fills the view's file up to the status role's cap, as anything else on the
 * disk would: another connection (uncapped but for this) writes ballast until
 * SQLite says SQLITE_FULL. `free` deletes it: its pages go to the file's free
 * list, for any connection to reuse, as space coming back on a disk.
 */
class Ballast {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 10000');
    this.db.exec('CREATE TABLE IF NOT EXISTS ballast (bytes BLOB)');
  }

  fill(capMb: number): number {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    this.db.pragma(`max_page_count = ${Math.floor((capMb * 1024 * 1024) / pageSize)}`);
    const insert = this.db.prepare('INSERT INTO ballast VALUES (?)');
    // Large rows first, then ever smaller ones, so the last pages are full too.
    for (const size of [64_000, 4_000, 500]) {
      for (;;) {
        try {
          insert.run(Buffer.alloc(size));
        } catch (error) {
          if ((error as { code?: string }).code !== 'SQLITE_FULL') throw error;
          break;
        }
      }
    }
    return this.db.pragma('page_count', { simple: true }) as number;
  }

  free(): void {
    this.db.exec('DELETE FROM ballast');
  }

  close(): void {
    this.db.close();
  }
}

async function readiness(
  run: RoleProcess,
): Promise<{ status: number; body: { ready: boolean; problems: Record<string, string> } }> {
  const response = await fetch(`${operatorUrl(run)}/ready`);
  return {
    status: response.status,
    body: (await response.json()) as { ready: boolean; problems: Record<string, string> },
  };
}

const linesMatching = (run: RoleProcess, pattern: RegExp) =>
  run.logLines().filter((line) => pattern.test(String(line.msg ?? '')));

/**
 * Issue 20, part 6: the status role's SQLite file cannot grow. It says so in
 * one line, turns not-ready, saves no read position past what it wrote, and
 * carries on by itself once there is room, with nothing lost: the orders that
 * went through the kitchen meanwhile are all in the view.
 */
describe('a full disk under the status view', () => {
  let shop: FaultShop;
  let status: RoleProcess;
  let placer: OrderPlacer;
  let ballast: Ballast;

  beforeAll(async () => {
    shop = await FaultShop.create({ bootstrap: kafkaBootstrap() });
    // The web host's disk: serve and status write the one view file, and both have its cap.
    const cap = { [settingVariableName('state-store-orders', 'max_size_mb')]: String(CAP_MB) };
    status = await startWithEnv(shop, 'status', cap);
    await startWithEnv(shop, 'serve', cap);
    await Promise.all((['deliver', 'bake', 'assemble'] as FaultRole[]).map((role) => shop.start(role)));
    placer = new OrderPlacer(shop.serveUrl);
    ballast = new Ballast(shop.viewDb);
  }, 120_000);

  afterAll(async () => {
    ballast?.close();
    await shop?.close();
  }, 60_000);

  it('one line, not ready, no position past what was written, and every order in the view once there is room', async () => {
    expect((await readiness(status)).status).toBe(200);
    // Orders in the kitchen when the disk fills: the view cannot write their next steps.
    const orderIds = await placer.place({ count: 24, intervalMs: 40, maxInFlight: 8, timeoutMs: 60_000 });
    const pages = ballast.fill(CAP_MB);
    const fullAt = Date.now();
    await vi.waitFor(() => expect(deliveredOnTopic(shop, orderIds).size).toBe(orderIds.length), {
      timeout: 60_000,
      interval: 500,
    });
    await vi.waitFor(() => expect(linesMatching(status, FULL_LINE)).toHaveLength(1), {
      timeout: 20_000,
      interval: 250,
    });
    const notReady = await readiness(status);
    expect(notReady.status).toBe(503);
    expect(notReady.body.problems.sqlite).toMatch(/orders\.db is full/);
    const missingWhileFull = orderIds.length - deliveredInView(shop, orderIds).size;
    expect(missingWhileFull, 'orders the view could not show while full').toBeGreaterThan(0);
    expect(positionsPastWrites(shop), 'read positions saved past records the view never wrote').toEqual([]);
    // A while longer full: the retries say nothing more.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(linesMatching(status, FULL_LINE)).toHaveLength(1);
    const fullLine = linesMatching(status, FULL_LINE)[0];

    ballast.free();
    const freedAt = Date.now();
    const { missing } = await waitForDelivered(shop, orderIds, 60_000);
    const caughtUpMs = Date.now() - freedAt;
    await vi.waitFor(async () => expect((await readiness(status)).status).toBe(200), {
      timeout: 20_000,
      interval: 250,
    });
    // The role's log file is written asynchronously: the line may land a little after the probe turns.
    await vi.waitFor(() => expect(linesMatching(status, ROOM_LINE)).toHaveLength(1), {
      timeout: 10_000,
      interval: 250,
    });
    expect(linesMatching(status, FULL_LINE)).toHaveLength(1);
    expect(positionsPastWrites(shop)).toEqual([]);
    const deadLetters = shop.recorder.topic(shop.topics.deadLetter).length;
    expect(deadLetters, 'records dead-lettered').toBe(0);

    reportAndCheck(shop, {
      trial: 'full disk under the status view',
      orderIds,
      deadLetters,
      failoverMs: { 'full for': freedAt - fullAt, 'caught up after room': caughtUpMs },
      notes: [
        `view file filled to ${pages} pages (cap ${CAP_MB} MB); ${missingWhileFull} of ${orderIds.length} orders not delivered in the view while full; ${missing.length} missing at the end`,
        `the one line: ${String(fullLine?.msg).slice(0, 160)}`,
      ],
    });
  }, 240_000);
});

/**
 * Read positions the view saved (view_offsets, its own commits: the status
 * view keeps no group offsets in Kafka) past a record it never wrote: every
 * record before a saved position must be in the view's timeline.
 */
function positionsPastWrites(shop: FaultShop): string[] {
  return (
    withView(shop, (db) => {
      const positions = db.prepare('SELECT topic, partition, next_offset FROM view_offsets').all() as Array<{
        topic: string;
        partition: number;
        next_offset: string;
      }>;
      const written = db.prepare('SELECT 1 FROM order_events WHERE topic = ? AND partition = ? AND offset = ?');
      const problems: string[] = [];
      for (const { topic, partition, next_offset: next } of positions) {
        for (const record of shop.recorder.topic(topic)) {
          if (record.partition !== partition || BigInt(record.offset) >= BigInt(next)) continue;
          if (!written.get(topic, partition, record.offset)) {
            problems.push(
              `${topic}[${partition}] @${record.offset} is before the saved position ${next}, not in the view`,
            );
          }
        }
      }
      return problems;
    }) ?? ['the view could not be read']
  );
}
