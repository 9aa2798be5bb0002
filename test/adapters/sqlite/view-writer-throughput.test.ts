import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OrderLogStore } from '../../../src/adapters/sqlite/order-log-store.js';
import { OrdersStore } from '../../../src/adapters/sqlite/orders-store.js';
import { SqliteFile } from '../../../src/adapters/sqlite/sqlite-file.js';
import { ViewWriter } from '../../../src/adapters/sqlite/view-writer.js';
import { testSettings } from '../../support/settings.js';
import { sampleOrder } from '../../support/shop.js';

const fixture = testSettings();
fixture.cleanup();
const { settings } = fixture;
const catalog = settings.statuses;
const ORDERS = 10_000;
/** Records handed over per turn, as a batch-fed dispatcher would. */
const PER_TURN = 500;

describe('the view writer, rebuilding', () => {
  it('applies the four stage events of 10,000 orders (prints records/s: the SQLite side of a rebuild)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pizza-view-throughput-'));
    const file = new SqliteFile(join(dir, 'orders.db'));
    try {
      const store = new OrdersStore(file);
      const view = new ViewWriter(store, catalog, new OrderLogStore(file));
      const stages = [
        { topic: settings.topics.ordered, status: 100 },
        { topic: settings.topics.assembled, status: 200 },
        { topic: settings.topics.baked, status: 300 },
        { topic: settings.topics.delivered, status: catalog.ids.delivered },
      ];
      // Ids by index: 10,000 random 8-hex-digit ids collide about once in 100 runs (the birthday bound).
      const orders = Array.from({ length: ORDERS }, (_, index) =>
        sampleOrder({ orderId: index.toString(16).padStart(8, '0') }),
      );
      // As a rebuild reads them: each topic's records in offset order, topic after topic.
      const records = stages.flatMap((stage, stageIndex) =>
        orders.map((order, index) => ({ order, stage, offset: String(index), timestamp: 1_000 + stageIndex })),
      );
      const started = process.hrtime.bigint();
      for (let start = 0; start < records.length; start += PER_TURN) {
        await Promise.all(
          records.slice(start, start + PER_TURN).map(({ order, stage, offset, timestamp }) =>
            view.apply(
              {
                orderId: order.orderId,
                topic: stage.topic,
                partition: 0,
                offset,
                status: stage.status,
                eventTimestamp: timestamp,
                receivedAt: Date.now(),
              },
              stage.status === 100 ? order : undefined,
            ),
          ),
        );
        view.notePosition({ topic: records[start]?.stage.topic ?? '', partition: 0, offset: String(start) });
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(
        `view writer: ${records.length} stage events in ${seconds.toFixed(2)} s, ${Math.round(records.length / seconds)} records/s`,
      );
      expect(store.countByStatus()).toEqual([{ status: catalog.ids.delivered, count: ORDERS }]);
      const sample = orders[0]?.orderId ?? '';
      expect(store.appliedEvents(sample).map((event) => event.status)).toEqual([100, 200, 300, catalog.ids.delivered]);
    } finally {
      file.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
