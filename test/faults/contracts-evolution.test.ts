/**
 * Issue 22, part 7: old and new roles side by side on a real broker and a real Schema
 * Registry, all writing framed Avro. "Old" roles run with `contracts_dir` = the contracts
 * from before `pizza-ordered` gained `delivery_note` (test/fixtures/contracts/v1), "new"
 * ones with the shipped contracts. The contracts go in first, as an operator would put
 * them in: `pizza schemas:check` with v1, then with v2 (compatible under FULL).
 *
 *   phase 1: old serve, new assemble, old bake, new deliver, new status; orders without notes
 *   phase 2: serve swapped to new, and an old deliver beside the new one; orders with and without notes
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompatibilityReport } from '../../src/adapters/contracts/compatibility.js';
import { runPizza } from '../support/cli.js';
import { V1_CONTRACTS } from '../support/contract-versions.js';
import { duplicates, reportAndCheck, ViewWatcher } from '../support/faults-checks.js';
import { OrderPlacer, waitForDelivered } from '../support/faults-orders.js';
import { FaultShop, type RoleProcess } from '../support/faults-shop.js';
import { kafkaBootstrap } from '../support/kafka.js';
import { registryIniSection } from '../support/registry.js';

const OLD = ['[pizza-shop]', `contracts_dir = ${V1_CONTRACTS}`];
const NEW: string[] = [];
const NOTE = 'ring twice, the bell is broken';
const DELIVERY_TIMEOUT_MS = 45_000;

/** `pizza schemas:check` on the shop's config with these ini lines; the pizza-ordered line of its report. */
function schemasCheck(shop: FaultShop, ini: string[]) {
  const config = `${shop.config}.${ini.length === 0 ? 'v2' : 'v1'}.ini`;
  writeFileSync(config, `${readFileSync(shop.config, 'utf8')}${ini.join('\n')}\n`);
  const result = runPizza(['schemas:check', '--config', config, '--json']);
  expect(result.code, result.stderr).toBe(0);
  const report = JSON.parse(result.stdout) as CompatibilityReport;
  const ordered = report.contracts.find((contract) => contract.topic === shop.topics.ordered);
  if (ordered?.id === undefined) throw new Error(`schemas:check gave no id for ${shop.topics.ordered}`);
  return ordered;
}

describe('contracts evolution: old and new roles side by side, all on framed Avro', () => {
  let shop: FaultShop;
  let placer: OrderPlacer;
  const ids = { v1: 0, v2: 0 };

  beforeAll(async () => {
    shop = await FaultShop.create({
      bootstrap: kafkaBootstrap(),
      extraIni: ['value_format = avro', ...registryIniSection().trim().split('\n')],
    });
    const v1 = schemasCheck(shop, OLD);
    expect(v1).toMatchObject({ state: 'registered', version: 1, level: 'FULL' });
    const v2 = schemasCheck(shop, NEW);
    expect(v2).toMatchObject({ state: 'registered', version: 2, previousVersion: 1 });
    ids.v1 = v1.id as number;
    ids.v2 = v2.id as number;
    placer = new OrderPlacer(shop.serveUrl);
  }, 120_000);

  afterAll(async () => {
    await shop?.close();
  }, 60_000);

  it('delivers every order, none lost, dead-lettered or twice, and only a deliver on the new contract says the notes the new web app took', async () => {
    const deadLettersBefore = shop.recorder.topic(shop.topics.deadLetter).length;
    const watcher = new ViewWatcher(shop);

    // Phase 1: the old web app writes pizza-ordered under v1; new roles read it.
    await Promise.all([
      shop.start('status', 'a', NEW),
      shop.start('deliver', 'a', NEW),
      shop.start('bake', 'a', OLD),
      shop.start('assemble', 'a', NEW),
      shop.start('serve', 'old', OLD),
    ]);
    const phase1 = await placer.place({ count: 8, intervalMs: 100, timeoutMs: 30_000 });

    // Phase 2: the web app switched to v2, an old deliver beside the new one (they share the partitions).
    await shop.current('serve', 'old').stop();
    const [, oldDeliver] = await Promise.all([shop.start('serve', 'new', NEW), shop.start('deliver', 'old', OLD)]);
    const withNotes = await placer.place({ count: 6, intervalMs: 100, timeoutMs: 30_000, deliveryNote: NOTE });
    const without = await placer.place({ count: 6, intervalMs: 100, timeoutMs: 30_000 });
    const orderIds = [...phase1, ...withNotes, ...without];

    const { missing } = await waitForDelivered(shop, orderIds, DELIVERY_TIMEOUT_MS);
    watcher.stop();

    // On the wire: every order framed, under v1 from the old web app and v2 from the new one.
    const schemaIdOf = new Map(
      shop.recorder
        .topic(shop.topics.ordered)
        .map((record) => [
          record.key?.toString('utf8') ?? '',
          record.value?.[0] === 0 ? record.value.readUInt32BE(1) : -1,
        ]),
    );
    expect(phase1.map((orderId) => schemaIdOf.get(orderId))).toEqual(phase1.map(() => ids.v1));
    expect([...withNotes, ...without].map((orderId) => schemaIdOf.get(orderId))).toEqual(
      [...withNotes, ...without].map(() => ids.v2),
    );

    // Each deliver reads pizza-ordered into its own contract: the new one says the note of every order it
    // took in with one, the old one (v1, no note in its contract) never does.
    const delivers = shop.processes.filter((run) => run.role === 'deliver');
    const noteSaid = (run: RoleProcess) =>
      new Map(
        run
          .logLines()
          .filter((line) => typeof line.deliveryNote === 'string')
          .map((line) => [String(line.orderId), String(line.deliveryNote)]),
      );
    const tookIn = (run: RoleProcess) => new Set(run.logLines().map((line) => String(line.orderId)));
    const oldTook = tookIn(oldDeliver);
    const byNew = withNotes.filter((orderId) => !oldTook.has(orderId));
    const byOld = withNotes.filter((orderId) => oldTook.has(orderId));
    const said = new Map(delivers.filter((run) => run !== oldDeliver).flatMap((run) => [...noteSaid(run)]));
    expect(byNew.map((orderId) => said.get(orderId))).toEqual(byNew.map(() => NOTE));
    expect([...phase1, ...without].filter((orderId) => said.has(orderId))).toEqual([]);
    expect([...noteSaid(oldDeliver).keys()], 'notes said by the deliver on the v1 contract').toEqual([]);

    const dups = duplicates(shop, orderIds);
    reportAndCheck(shop, {
      trial: 'contracts evolution v1/v2 side by side',
      orderIds,
      deadLetters: shop.recorder.topic(shop.topics.deadLetter).length - deadLettersBefore,
      failoverMs: {},
      watcher,
      notes: [
        `pizza-ordered schema ids: v1=${ids.v1} (${phase1.length} orders), v2=${ids.v2} (${withNotes.length + without.length} orders)`,
        `orders with a note taken in by the new deliver: ${byNew.length} (note said), by the old deliver: ${byOld.length} (v1: no note)`,
        `${placer.failures} order attempts failed (last: ${placer.lastFailure.slice(0, 120) || 'none'})`,
        `${missing.length} orders undelivered when the wait ended`,
      ],
    });
    expect.soft(orderIds.length, 'orders placed').toBe(20);
    expect.soft(shop.recorder.topic(shop.topics.deadLetter).length - deadLettersBefore, 'dead letters').toBe(0);
    expect.soft(dups, 'records beyond the first per order on each stage topic').toEqual({
      ordered: 0,
      assembled: 0,
      baked: 0,
      pending: 0,
      delivered: 0,
    });
  }, 150_000);
});
