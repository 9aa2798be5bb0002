import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { LineageModel } from '../../src/lineage/model.js';
import { pizzaBin, repoRoot, runPizza, startPizza } from '../support/cli.js';
import { writeShopIni } from '../support/ini.js';
import { createShopTopics, kafkaTestSettings, rawProducer } from '../support/kafka.js';

const dir = mkdtempSync(join(tmpdir(), 'pizza-cli-lineage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `pizza` without blocking this process, so a `pizza all` child keeps being read meanwhile. */
async function pizza(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [pizzaBin, ...args], {
      cwd: repoRoot,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Probes until it finds something, and returns that; a timeout names `what` never happened. */
function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  return vi.waitFor(
    async () => {
      const found = await probe();
      if (found === undefined) throw new Error(`timed out waiting for ${what}`);
      return found;
    },
    { timeout: timeoutMs, interval: 500 },
  );
}

describe('pizza lineage and pizza load', () => {
  it('says that the embedded bus has no other process to look at, and how to look at one: exit 2', () => {
    const result = runPizza(['lineage']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--from');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses --watch with --json, which would never end for a script: exit 2', () => {
    const result = runPizza(['lineage', '--watch', '--json', '--from', 'http://127.0.0.1:9']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--watch and --json do not go together');
  });

  it('refuses a burst beyond its bounds', () => {
    const result = runPizza(['load', '--orders', '501']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('1 to 500');
  });

  it("reads a running pizza all's lineage with --from, after pizza load places orders through its form", async () => {
    const data = join(dir, 'all');
    const shop = startPizza([
      'all',
      '--port',
      '0',
      '--time-scale',
      '0.01',
      '--data-dir',
      data,
      '--log-dir',
      join(data, 'logs'),
    ]);
    try {
      const [, url = ''] = await shop.waitForLine(/pizza shop open at (http:\/\/[^\s"]+)/);
      const load = await pizza(['load', '--orders', '6', '--rate', '20', '--url', url]);
      expect(load.stdout).toContain('Placed 6 of 6 demo orders');
      expect(load.code).toBe(0);

      const model = await until(async () => {
        const result = await pizza(['lineage', '--from', url, '--json']);
        const parsed = JSON.parse(result.stdout) as LineageModel;
        const delivered = parsed.topics.find((topic) => topic.name === 'pizza-delivered')?.total;
        return delivered === 6 ? parsed : undefined;
      }, 'six delivered orders in the lineage');
      expect(model.bus).toBe('embedded');
      expect(model.topics.find((topic) => topic.name === 'pizza-ordered')?.total).toBe(6);
      expect(model.services.find((service) => service.name === 'bake')).toMatchObject({ instances: 1, lag: 0 });

      const table = await pizza(['lineage', '--from', url]);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^SERVICE\s+INSTANCES\s+IN FLIGHT\s+LAG\s+WAITING/m);
      expect(table.stdout).toMatch(/^pizza-ordered\s+1\s+\S+\s+6$/m);
    } finally {
      expect(await shop.stop()).toBe(0);
    }
  });

  it('reads a Kafka cluster with --config, and refreshes with --watch until stopped', async () => {
    const settings = kafkaTestSettings();
    await createShopTopics(settings);
    const producer = await rawProducer();
    await producer.send({
      topic: settings.topics.ordered,
      messages: [1, 2, 3].map((index) => ({ key: `k${index}`, value: '{}' })),
    });
    const ini = writeShopIni(settings, { data_dir: settings.shop.dataDir });
    const json = await pizza(['lineage', '--config', ini, '--json']);
    expect(json.code).toBe(0);
    const model = JSON.parse(json.stdout) as LineageModel;
    expect(model.bus).toBe('kafka');
    expect(model.topics.find((topic) => topic.name === settings.topics.ordered)).toMatchObject({ total: 3 });

    const watching = startPizza(['lineage', '--config', ini, '--watch']);
    await watching.waitForLine(/Stream lineage on Kafka[\s\S]*Stream lineage on Kafka/, 20_000);
    expect(await watching.stop()).toBe(0);
  });
});
