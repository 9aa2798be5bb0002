import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { logFilePath } from '../../src/adapters/logs/logger.js';
import { repoRoot } from '../support/cli.js';
import { duplicates, reportAndCheck } from '../support/faults-checks.js';
import { OrderPlacer, waitForDelivered } from '../support/faults-orders.js';
import { type FaultRole, FaultShop, type RoleProcess, randomId } from '../support/faults-shop.js';
import { kafkaBootstrap } from '../support/kafka.js';

const ROLES: FaultRole[] = ['status', 'deliver', 'bake', 'assemble', 'serve'];

interface MemberLine {
  at: number;
  started?: boolean;
  committed?: { partition: number; offset: string; keys: string[] };
  stranded?: { partition: number; offset: string; keys: string[] };
}

/** The dying instance (`test/support/faults-stranded-member.mjs`), its JSON lines as they come. */
function startMember(args: string[]): { child: ChildProcess; lines: MemberLine[]; output: () => string } {
  const child = spawn(process.execPath, [join(repoRoot, 'test', 'support', 'faults-stranded-member.mjs'), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: MemberLine[] = [];
  let output = '';
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as MemberLine);
      } catch {
        // Not one of its lines (a client warning).
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  return { child, lines, output: () => output.slice(-4_000) };
}

/** The client's lines, which the role writes to its `kafka` log. */
function kafkaLogLines(run: RoleProcess): Array<Record<string, unknown>> {
  const path = logFilePath(run.logDir, 'kafka');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((text) => {
      try {
        return [JSON.parse(text) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/**
 * Issue 20, part 10: offsets left pending under another instance's producer
 * id. An exactly-once bake instance with its own transactional id is killed
 * with -9 after it sent a transaction's outputs and offsets, before the
 * commit. The surviving bake instance (another transactional id) is given its
 * partitions, but the group's offsets of them stay pending until the
 * transaction coordinator aborts the dead one's transaction
 * (`transaction.timeout.ms`, 10 s, checked every 10 s), and it can do nothing
 * about that itself: it must wait, and then redo exactly the records of the
 * aborted transaction, and none of those the dead one committed.
 */
describe('exactly-once: an instance killed -9 mid-transaction, offsets sent', () => {
  it('the survivor takes over once the broker aborts it: the committed work once, the stranded work redone once', async () => {
    const shop = await FaultShop.create({ bootstrap: kafkaBootstrap(), processing: 'exactly-once' });
    onTestFinished(() => shop.close());
    await Promise.all(ROLES.map((role) => shop.start(role)));
    // The shop's bake group (FaultShop names it after the run, as its topics).
    const run = shop.topics.baked.slice(0, -'-pizza-baked'.length);
    const member = startMember([
      kafkaBootstrap(),
      `${run}-bake`,
      shop.topics.assembled,
      shop.topics.baked,
      randomId('dying-bake'),
      '2',
    ]);
    onTestFinished(() => {
      member.child.kill('SIGKILL');
    });
    await vi.waitFor(
      () => {
        if (!member.lines.some((line) => line.started)) throw new Error(`member not started: ${member.output()}`);
      },
      { timeout: 30_000, interval: 100 },
    );
    // It joined: bake gave up half of its partitions to it.
    const bake = shop.current('bake');
    await vi.waitFor(
      () => {
        const assigned = bake.logLines().filter((line) => line.msg === 'partitions assigned');
        if (assigned.length < 2) throw new Error('bake not rebalanced yet');
      },
      { timeout: 30_000, interval: 100 },
    );

    const placer = new OrderPlacer(shop.serveUrl);
    const placing = placer.place({ count: 24, intervalMs: 150, maxInFlight: 8, timeoutMs: 60_000 });
    await vi.waitFor(
      () => {
        if (!member.lines.some((line) => line.stranded))
          throw new Error(`no transaction left open yet: ${member.output()}`);
      },
      { timeout: 60_000, interval: 20 },
    );
    const killedAt = Date.now();
    member.child.kill('SIGKILL');
    const orderIds = await placing;
    const { missing } = await waitForDelivered(shop, orderIds, 120_000);

    const committedKeys = member.lines.flatMap((line) => line.committed?.keys ?? []);
    const strandedLine = member.lines.find((line) => line.stranded);
    const strandedKeys = strandedLine?.stranded?.keys ?? [];
    const bakedAt = (keys: readonly string[]) =>
      shop.recorder
        .topic(shop.topics.baked)
        .filter((record) => keys.includes(record.key?.toString('utf8') ?? ''))
        .map((record) => record.timestamp);
    const redoneAt = Math.max(...bakedAt(strandedKeys));
    const assignedAt = bake
      .logLines()
      .filter((line) => line.msg === 'partitions assigned' && Number(line.time) >= killedAt)
      .map((line) => Number(line.time))[0];
    // The client's own line as the rebalance hands bake the partitions, before it waits for their offsets.
    const offeredAt = kafkaLogLines(bake)
      .filter((line) => /Assign partitions/.test(String(line.msg)) && Number(line.time) >= killedAt)
      .map((line) => Number(line.time))[0];
    reportAndCheck(shop, {
      trial: 'exactly-once kill -9 mid-transaction, survivor with another transactional id',
      orderIds,
      deadLetters: 0,
      failoverMs: {
        'partitions offered by the rebalance': offeredAt === undefined ? undefined : offeredAt - killedAt,
        'partitions assigned (offsets settled)': assignedAt === undefined ? undefined : assignedAt - killedAt,
        'stranded records redone': redoneAt - killedAt,
        'open transaction began before the kill': killedAt - (strandedLine?.at ?? killedAt),
      },
      notes: [
        `the dying instance committed ${committedKeys.length} pizzas in 2 transactions and left ${strandedKeys.length} in an open one`,
        `${missing.length} orders undelivered when the wait ended`,
      ],
    });
    expect(strandedKeys.length).toBeGreaterThan(0);
    // Its committed pizzas are never baked again; the stranded ones are baked once, by the survivor.
    expect(committedKeys.map((key) => bakedAt([key]).length)).toEqual(committedKeys.map(() => 1));
    expect(strandedKeys.map((key) => bakedAt([key]).length)).toEqual(strandedKeys.map(() => 1));
    expect(duplicates(shop, orderIds)).toEqual({ ordered: 0, assembled: 0, baked: 0, pending: 0, delivered: 0 });
  }, 240_000);
});
