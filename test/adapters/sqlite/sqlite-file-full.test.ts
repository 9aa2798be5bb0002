import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { classifyFailure } from '../../../src/adapters/bus/failures.js';
import { OrderLogStore } from '../../../src/adapters/sqlite/order-log-store.js';
import { OrdersStore } from '../../../src/adapters/sqlite/orders-store.js';
import { SqliteFile, SqliteFiles } from '../../../src/adapters/sqlite/sqlite-file.js';
import { ViewWriter } from '../../../src/adapters/sqlite/view-writer.js';
import { PizzaError } from '../../../src/errors.js';
import { capturingLogs } from '../../support/capture-logs.js';
import { testSettings } from '../../support/settings.js';
import { sampleOrder } from '../../support/shop.js';

const fixture = testSettings();
fixture.cleanup();
const catalog = fixture.settings.statuses;
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A file capped at 1 MB, its log lines, and a second connection (another process, say) that fills and frees the disk. */
function cappedFile(roomConfirmMs = 0) {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-sqlite-full-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'orders.db');
  const logs = capturingLogs();
  const file = new SqliteFile(path, 0, {
    maxSizeMb: 1,
    log: logs.root,
    capSetting: '[state-store-orders] max_size_mb',
    roomConfirmMs,
  });
  cleanups.push(() => file.close());
  const store = new OrdersStore(file);
  const disk = new Database(path);
  cleanups.push(() => disk.close());
  const cap = file.db.pragma('max_page_count', { simple: true }) as number;
  disk.exec('CREATE TABLE IF NOT EXISTS ballast (bytes BLOB)');
  return {
    file,
    store,
    logs,
    /** Fills the file up to its cap, as anything else filling the disk would. */
    fill() {
      disk.pragma(`max_page_count = ${cap}`);
      const insert = disk.prepare('INSERT INTO ballast VALUES (?)');
      try {
        for (;;) insert.run(Buffer.alloc(2_000));
      } catch (error) {
        expect((error as { code?: string }).code).toBe('SQLITE_FULL');
      }
    },
    /** Frees the space again: the pages go to the file's free list, for any connection to reuse. */
    free() {
      disk.exec('DELETE FROM ballast');
    },
    fullLines: () => logs.lines.filter((line) => / is full: /.test(line.msg ?? '')),
    roomLines: () => logs.lines.filter((line) => / has room again/.test(line.msg ?? '')),
  };
}

const event = (orderId: string, offset: string) => ({
  orderId,
  topic: 'pizza-assembled',
  partition: 0,
  offset,
  status: 200,
  eventTimestamp: 2_000,
  receivedAt: 2_000,
});

describe('a SQLite file that cannot grow', () => {
  it('fails every write of the commit with STORE_FULL, which the dispatcher waits out and never dead-letters', async () => {
    const { file, fill } = cappedFile();
    file.db.exec('CREATE TABLE memory (bytes BLOB)');
    fill();
    const insert = () => file.write(() => file.db.prepare('INSERT INTO memory VALUES (?)').run(Buffer.alloc(5_000)));
    const small = file.write(() => file.db.prepare('INSERT INTO memory VALUES (?)').run(Buffer.alloc(1)));
    const results = await Promise.allSettled([small, insert(), insert()]);
    // SQLite ends the whole transaction on SQLITE_FULL: the small write that went in first goes with it.
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const result of results) {
      const error = (result as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(PizzaError);
      expect(error).toMatchObject({ code: 'STORE_FULL', canRetry: true });
      expect(classifyFailure(error)).toBe('unavailable');
    }
    expect(file.db.prepare('SELECT count(*) AS n FROM memory').get()).toEqual({ n: 0 });
  });

  it('says so in one line however many writes fail, is not ready, and says once that it has room again', async () => {
    const { file, fill, free, fullLines, roomLines } = cappedFile();
    file.db.exec('CREATE TABLE memory (bytes BLOB)');
    fill();
    const insert = () => file.write(() => file.db.prepare('INSERT INTO memory VALUES (?)').run(Buffer.alloc(5_000)));
    for (let attempt = 0; attempt < 20; attempt += 1) await expect(insert()).rejects.toThrow(/is full/);
    expect(fullLines()).toHaveLength(1);
    expect(fullLines()[0]).toMatchObject({ level: 50, file: file.path, maxSizeMb: 1 });
    expect(fullLines()[0]?.msg).toContain('[state-store-orders] max_size_mb = 1');
    expect(file.notReady()).toBe('orders.db is full: writes wait for room');
    const files = new SqliteFiles();
    cleanups.push(() => files.close());
    expect(files.notReady()).toBeUndefined();

    free();
    await insert();
    expect(file.notReady()).toBeUndefined();
    expect(roomLines()).toHaveLength(1);
    expect(roomLines()[0]).toMatchObject({ file: file.path, fullForMs: expect.any(Number) });
    await insert();
    expect([fullLines().length, roomLines().length]).toEqual([1, 1]);
  });

  it('stays full, and silent, while it takes some writes and refuses others, until writes go through for a while', async () => {
    const { file, fill, free, fullLines, roomLines } = cappedFile(200);
    file.db.exec('CREATE TABLE memory (bytes BLOB)');
    const insert = (bytes: number) =>
      file.write(() => file.db.prepare('INSERT INTO memory VALUES (?)').run(Buffer.alloc(bytes)));
    fill();
    await expect(insert(5_000)).rejects.toThrow(/is full/);
    // A little room (another process freed some): a small write fits, the next large one does not.
    free();
    fill();
    file.db.exec('DELETE FROM memory');
    await insert(1);
    await expect(insert(50_000)).rejects.toThrow(/is full/);
    await insert(1);
    expect(file.notReady()).toBeDefined();
    expect([fullLines().length, roomLines().length]).toEqual([1, 0]);

    free();
    await insert(50_000);
    // Room once writes have gone through, none refused, for the confirm time: the file looks again by itself.
    await vi.waitFor(() => expect(file.notReady()).toBeUndefined(), { timeout: 2_000, interval: 20 });
    expect([fullLines().length, roomLines().length]).toEqual([1, 1]);
  });

  it("writes neither the view's events nor its read position while full, and both once there is room", async () => {
    const { file, store, fill, free } = cappedFile();
    // With the status lines, as the status role writes them, in the same transaction.
    const view = new ViewWriter(store, catalog, new OrderLogStore(file));
    const orders = Array.from({ length: 100 }, () => sampleOrder());
    const applyAll = () =>
      Promise.allSettled(
        orders.map((order, index) =>
          view.apply({ ...event(order.orderId, String(index)), topic: 'pizza-ordered', status: 100 }, order),
        ),
      );
    fill();
    // One turn's records: one batch, one transaction, which finds no room for them.
    view.notePosition({ topic: 'pizza-ordered', partition: 0, offset: '100' });
    const whileFull = await applyAll();
    expect(new Set(whileFull.map((result) => result.status))).toEqual(new Set(['rejected']));
    expect((whileFull[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'STORE_FULL' });
    expect(orders.filter((order) => store.getOrder(order.orderId))).toEqual([]);
    expect(store.offsets.startPositions([{ topic: 'pizza-ordered', partition: 0 }])).toEqual([
      { topic: 'pizza-ordered', partition: 0, offset: '-2' },
    ]);

    free();
    // The records are handled again (the dispatcher retries them), and their position noted again once done.
    view.notePosition({ topic: 'pizza-ordered', partition: 0, offset: '100' });
    const withRoom = await applyAll();
    expect(new Set(withRoom.map((result) => result.status))).toEqual(new Set(['fulfilled']));
    expect(orders.filter((order) => store.getOrder(order.orderId)?.status === 100)).toHaveLength(100);
    expect(store.offsets.startPositions([{ topic: 'pizza-ordered', partition: 0 }])).toEqual([
      { topic: 'pizza-ordered', partition: 0, offset: '100' },
    ]);
  });

  it("does not let writes made now (deliver's memory) vanish unseen when a full file ends their transaction", () => {
    const { file, fill } = cappedFile();
    file.db.exec('CREATE TABLE memory (bytes BLOB)');
    const insert = (bytes: number) => file.db.prepare('INSERT INTO memory VALUES (?)').run(Buffer.alloc(bytes));
    fill();
    // Fits in the table's empty first page: no new page needed.
    file.writeNow(() => insert(1));
    expect(() => file.writeNow(() => insert(50_000))).toThrow(expect.objectContaining({ code: 'STORE_FULL' }));
    // The first write went with the transaction: its commit fails loudly rather than commit an empty one.
    expect(() => file.close()).toThrow(/is full/);
    expect(file.db.prepare('SELECT count(*) AS n FROM memory').get()).toEqual({ n: 0 });
  });

  it('caps a file at its max_size_mb from the first write', () => {
    const { file } = cappedFile();
    const pageSize = file.db.pragma('page_size', { simple: true }) as number;
    expect(file.db.pragma('max_page_count', { simple: true })).toBe(Math.floor((1024 * 1024) / pageSize));
  });
});
