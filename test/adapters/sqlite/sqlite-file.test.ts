import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { OrderLogStore } from '../../../src/adapters/sqlite/order-log-store.js';
import { OrdersStore } from '../../../src/adapters/sqlite/orders-store.js';
import { SqliteFile, SqliteFiles } from '../../../src/adapters/sqlite/sqlite-file.js';
import { ViewWriter } from '../../../src/adapters/sqlite/view-writer.js';
import { testSettings } from '../../support/settings.js';
import { sampleOrder } from '../../support/shop.js';

const fixture = testSettings();
fixture.cleanup();
const catalog = fixture.settings.statuses;
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function tempFiles(): { files: SqliteFiles; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-sqlite-file-'));
  const files = new SqliteFiles();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => files.close());
  return { files, path: join(dir, 'orders.db') };
}

/** Counts the commits a file makes from now on. */
function countCommits(file: SqliteFile): { readonly commits: number } {
  const before = file.commits;
  return {
    get commits() {
      return file.commits - before;
    },
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('one writer per SQLite file', () => {
  it('opens a file once per path, however the path is spelt, and anew after closing', () => {
    const { files, path } = tempFiles();
    const first = files.open(path);
    expect(files.open(join(path, '..', 'orders.db'))).toBe(first);
    files.close();
    expect(first.open).toBe(false);
    const again = files.open(path);
    expect(again).not.toBe(first);
    expect(again.open).toBe(true);
  });

  it("commits a turn's web placement, view events and status lines in one transaction on one connection", async () => {
    const { files, path } = tempFiles();
    const file = files.open(path);
    const store = new OrdersStore(file);
    const lines = new OrderLogStore(file);
    const view = new ViewWriter(store, catalog, lines);
    const commits = countCommits(file);
    const placed = sampleOrder();
    const elsewhere = sampleOrder();
    const event = (orderId: string, status: number, offset: string) => ({
      orderId,
      topic: 'pizza-assembled',
      partition: 0,
      offset,
      status,
      eventTimestamp: 2_000,
      receivedAt: 2_000,
    });

    const [, assembled, other] = await Promise.all([
      store.shared((writes) => writes.placeOrder(placed, { status: 100, timestamp: 1_000 }, catalog, 1_000)),
      view.apply(event(placed.orderId, 200, '1')),
      view.apply({ ...event(elsewhere.orderId, 100, '2'), topic: 'pizza-ordered' }, elsewhere),
    ]);

    expect(commits.commits).toBe(1);
    expect([assembled, other]).toEqual([true, true]);
    expect(store.getOrder(placed.orderId)?.status).toBe(200);
    expect(lines.latestLines(placed.orderId, 'status').map((stored) => stored.line.msg)).toHaveLength(1);
    // Committed: another connection (another process) sees it all.
    const reader = new Database(path, { readonly: true });
    cleanups.push(() => reader.close());
    expect(reader.prepare('SELECT count(*) AS n FROM order_events').get()).toEqual({ n: 2 });
  });

  it('undoes a write that throws alone, and fails only its own promise', async () => {
    const { files, path } = tempFiles();
    const file = files.open(path);
    const store = new OrdersStore(file);
    const kept = sampleOrder();
    const undone = sampleOrder();
    const results = await Promise.allSettled([
      store.shared((writes) => writes.placeOrder(kept, { status: 100, timestamp: 1 }, catalog, 1)),
      store.shared((writes) => {
        writes.placeOrder(undone, { status: 100, timestamp: 1 }, catalog, 1);
        throw new Error('refused after writing');
      }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected']);
    expect(store.getOrder(kept.orderId)).toBeDefined();
    expect(store.getOrder(undone.orderId)).toBeUndefined();
  });

  it("writes now what a writer needs at once, and commits it with the turn's queued writes", async () => {
    const { files, path } = tempFiles();
    const file = files.open(path);
    file.db.exec('CREATE TABLE memory (id TEXT PRIMARY KEY)');
    const commits = countCommits(file);
    file.writeNow(() => file.db.prepare("INSERT INTO memory VALUES ('a')").run());
    expect(file.db.prepare('SELECT count(*) AS n FROM memory').get()).toEqual({ n: 1 });
    await file.write(() => file.db.prepare("INSERT INTO memory VALUES ('b')").run());
    expect(commits.commits).toBe(1);
  });

  it("fails a projection's queued writes when its file is closed before the turn ends", async () => {
    const { files, path } = tempFiles();
    const file = files.open(path);
    const store = new OrdersStore(file);
    const view = new ViewWriter(store, catalog);
    const order = sampleOrder();
    const pending = view.apply(
      {
        orderId: order.orderId,
        topic: 'pizza-ordered',
        partition: 0,
        offset: '0',
        status: 100,
        eventTimestamp: 1,
        receivedAt: 1,
      },
      order,
    );
    // Closing commits the turn first: the write is not lost.
    file.close();
    await expect(pending).resolves.toBe(true);
    const late = view.apply({
      orderId: order.orderId,
      topic: 'pizza-baked',
      partition: 0,
      offset: '1',
      status: 300,
      eventTimestamp: 2,
      receivedAt: 2,
    });
    await expect(late).rejects.toThrow(/closed/);
  });

  it('commits a quiet file at the end of the turn, and a busy one once per interval with every write since', async () => {
    const { path } = tempFiles();
    // An interval far longer than the test: only a quiet file's commit, or closing, can end a wait.
    const file = new SqliteFile(path, 60_000);
    cleanups.push(() => file.close());
    file.db.exec('CREATE TABLE memory (id INTEGER PRIMARY KEY)');
    const commits = countCommits(file);
    const insert = (id: number) => file.write(() => file.db.prepare('INSERT INTO memory VALUES (?)').run(id));

    await insert(0);
    expect(commits.commits).toBe(1);

    // Busy now: writes of many turns wait for the interval, and commit together.
    let committed = 0;
    const waiting = [1, 2, 3].map((id) => insert(id).then(() => (committed += 1)));
    await nextTurn();
    const fromAnotherTurn = insert(4).then(() => (committed += 1));
    await nextTurn();
    await nextTurn();
    expect([committed, commits.commits]).toEqual([0, 1]);
    // Another connection sees none of them yet.
    const reader = new Database(path, { readonly: true });
    cleanups.push(() => reader.close());
    expect(reader.prepare('SELECT count(*) AS n FROM memory').get()).toEqual({ n: 1 });

    file.close();
    await Promise.all([...waiting, fromAnotherTurn]);
    expect([committed, commits.commits]).toEqual([4, 2]);
    expect(reader.prepare('SELECT count(*) AS n FROM memory').get()).toEqual({ n: 5 });
  });

  it('commits a busy file once the interval since its last commit is over', async () => {
    const { path } = tempFiles();
    const file = new SqliteFile(path, 20);
    cleanups.push(() => file.close());
    file.db.exec('CREATE TABLE memory (id INTEGER PRIMARY KEY)');
    const commits = countCommits(file);
    const insert = (id: number) => file.write(() => file.db.prepare('INSERT INTO memory VALUES (?)').run(id));
    await insert(0);
    const startedAt = performance.now();
    await Promise.all([insert(1), insert(2)]);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(15);
    expect(commits.commits).toBe(2);
  });
});
