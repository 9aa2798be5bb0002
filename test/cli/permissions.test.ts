import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPizza } from '../support/cli.js';
import { ShopHttpClient } from '../support/http-client.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

describe('pizza keeps its files to its owner (issue 11)', () => {
  it('makes the data dir, orders.db with its -wal and -shm, the secrets and the log files readable by the owner alone', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pizza-perms-'));
    const data = join(dir, 'data');
    const logs = join(dir, 'logs');
    const pizza = startPizza(['all', '--port', '0', '--time-scale', '0', '--data-dir', data, '--log-dir', logs]);
    try {
      const [, url] = await pizza.waitForLine(/pizza shop open at (http:\/\/[^\s"]+)/);
      // An order writes to the orders view, so its WAL files exist while the shop runs.
      const client = new ShopHttpClient(url ?? '');
      await client.login('perms');
      const orderId = await client.order({ sauce: 'Pesto', cheese: 'Gouda', mainTopping: 'Pork', extraToppings: [] });
      await client.waitForPage(`/orders/${orderId}`, 'Your pizza was delivered', 30_000);

      const files = ['orders.db', 'orders.db-wal', 'orders.db-shm', 'session-secret', 'host-id'];
      const found = Object.fromEntries(files.map((file) => [file, mode(join(data, file))]));
      expect(found).toEqual(Object.fromEntries(files.map((file) => [file, '600'])));
      expect({ data: mode(data), logs: mode(logs) }).toEqual({ data: '700', logs: '700' });
      const logFiles = readdirSync(logs, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
      expect(logFiles.length).toBeGreaterThan(0);
      for (const file of logFiles) expect(mode(join(file.parentPath, file.name)), file.name).toBe('600');
    } finally {
      expect(await pizza.stop()).toBe(0);
    }
  });
});
