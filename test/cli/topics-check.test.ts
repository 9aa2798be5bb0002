import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createMissingTopics, explainCreateFailure } from '../../src/adapters/kafka/topic-creation.js';
import { inspectTopics } from '../../src/adapters/kafka/topics.js';
import { recordingAdmin, type TopicRequest } from '../support/fake-admin.js';
import { createTopics, deleteTopics, kafkaBootstrap, randomName } from '../support/kafka.js';
import { testSettings } from '../support/settings.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const TOPIC_KEYS = [
  'pizza_ordered',
  'pizza_assembled',
  'pizza_baked',
  'pizza_delivered',
  'pizza_pending',
  'pizza_status',
  'pizza_logs',
  'pizza_dead_letter',
  'pizza_role_stats',
  'pizza_sessions',
  'pizza_cancel_requested',
  'pizza_cancelled',
] as const;

/** A config file as a user writes it, with this test's own topic names. */
function writeConfig(
  options: { bootstrap?: string; partitions?: number; extra?: string; replicationFactor?: number | 'default' } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-topics-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const run = randomName('tc');
  const names = Object.fromEntries(TOPIC_KEYS.map((key) => [key, `${run}-${key.replace('_', '-')}`])) as Record<
    (typeof TOPIC_KEYS)[number],
    string
  >;
  onTestFinished(() => deleteTopics(Object.values(names)));
  const file = join(dir, 'client.ini');
  writeFileSync(
    file,
    [
      '[kafka]',
      `bootstrap.servers = ${options.bootstrap ?? kafkaBootstrap()}`,
      '[kafka-topics]',
      ...TOPIC_KEYS.map((key) => `${key} = ${names[key]}`),
      '[kafka-topic-config]',
      `num_partitions = ${options.partitions ?? 2}`,
      options.replicationFactor === 'default' ? '' : `replication_factor = ${options.replicationFactor ?? 1}`,
      options.extra ?? '',
    ].join('\n'),
  );
  return { file, names };
}

/** Runs the real CLI entry point (from source) as a user would, and collects what it prints. */
function pizza(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `const { main } = await import('./src/cli/main.ts'); await main(['node', 'pizza', ...JSON.parse(process.argv[1])]);`;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(args)],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('pizza topics:check', () => {
  it('exits 1 and names every missing topic and the --create command when topics are missing', async () => {
    const { file, names } = writeConfig();
    await createTopics([names.pizza_ordered], 2);
    const result = await pizza(['topics:check', '--config', file]);
    expect(result.code).toBe(1);
    for (const key of TOPIC_KEYS.filter((key) => key !== 'pizza_ordered')) {
      expect(result.stdout).toMatch(new RegExp(`${names[key]}\\s+MISSING`));
    }
    expect(result.stdout).toMatch(new RegExp(`${names.pizza_ordered}\\s+ok\\s+2\\s+1`));
    expect(result.stdout).toContain(`pizza topics:check --config ${file} --create`);
  });

  it('--create creates the missing topics with the configured partitions, then a check exits 0', async () => {
    const { file, names } = writeConfig({ partitions: 3 });
    const created = await pizza(['topics:check', '--config', file, '--create']);
    expect(created.code).toBe(0);
    for (const name of Object.values(names)) expect(created.stdout).toMatch(new RegExp(`${name}\\s+created\\s+3\\s+1`));

    const again = await pizza(['topics:check', '--config', file, '--json']);
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as {
      ok: boolean;
      problems: string[];
      topics: Array<{ key: string; name: string; exists: boolean; partitions: number; replicationFactor: number }>;
    };
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.topics.map((topic) => topic.key)).toEqual([
      'ordered',
      'assembled',
      'baked',
      'delivered',
      'pending',
      'status',
      'deadLetter',
      'logs',
      'roleStats',
      'sessions',
      'cancelRequested',
      'cancelled',
    ]);
    for (const topic of report.topics)
      expect(topic).toMatchObject({ exists: true, partitions: 3, replicationFactor: 1 });
  });

  it('exits 1 when pizza-ordered and pizza-baked have different partition counts', async () => {
    const { file, names } = writeConfig();
    await createTopics([names.pizza_ordered], 2);
    await createTopics([names.pizza_baked], 4);
    const result = await pizza(['topics:check', '--config', file, '--create', '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; problems: string[] };
    expect(report.ok).toBe(false);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toContain('same count');
  });

  it('exits 2 for a config error, and without --config', async () => {
    const { file } = writeConfig({ extra: '[kafka-topic-config]\nnum_partitions = many' });
    const bad = await pizza(['topics:check', '--config', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('num_partitions');
    expect(bad.stderr).not.toMatch(/\n\s+at /); // No stack trace for a user mistake.

    const none = await pizza(['topics:check']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--config');
  });

  it('exits 1 with a clear message, not a hang, when the broker is unreachable', async () => {
    const { file } = writeConfig({ bootstrap: '127.0.0.1:1' });
    const result = await pizza(['topics:check', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Kafka is not reachable at 127.0.0.1:1');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('--create gives the log topic its retention and the delete policy, and the stage topics the broker defaults', async () => {
    const fixture = testSettings();
    onTestFinished(fixture.cleanup);
    const settings = { ...fixture.settings, shop: { ...fixture.settings.shop, logTopicRetentionHours: 6 } };
    const requests: TopicRequest[] = [];
    const admin = recordingAdmin(requests);
    const report = await inspectTopics(admin, settings);
    expect(report.problems).toContain(`${settings.topics.logs} does not exist`);
    await createMissingTopics(admin, settings, report, { brokerCount: async () => 3 });
    const logs = requests.find((request) => request.topic === settings.topics.logs);
    expect(logs?.configEntries).toEqual([
      { name: 'cleanup.policy', value: 'delete' },
      { name: 'retention.ms', value: String(6 * 3_600_000) },
    ]);
    expect(requests.find((request) => request.topic === settings.topics.ordered)?.configEntries).toBeUndefined();
  });

  it('on a one-broker cluster, --create fits the default replication factor of 3 to the broker count and says so', async () => {
    const { file, names } = writeConfig({ replicationFactor: 'default' });
    const result = await pizza(['topics:check', '--config', file, '--create', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.notes).toEqual([
      'replication factor 1 instead of the default 3: the cluster has 1 broker (set [kafka-topic-config] replication_factor to choose)',
    ]);
    expect(report.created).toContain(names.pizza_ordered);
    for (const topic of report.topics) expect(topic.replicationFactor).toBe(1);
  });

  it('refuses a replication factor the user set above the broker count, naming the factor, the brokers and the setting', async () => {
    const { file } = writeConfig({ replicationFactor: 3 });
    const result = await pizza(['topics:check', '--config', file, '--create']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('replication_factor = 3');
    expect(result.stderr).toContain('the cluster has 1 broker');
    expect(result.stderr).toContain('[kafka-topic-config] replication_factor');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('explains each admin refusal with its cause and fix, not "Topic creation errors"', () => {
    const aggregate = Object.assign(new Error('Topic creation errors'), {
      errors: [
        { topic: 'a', code: 29, message: 'Broker: Topic authorization failed' },
        { topic: 'b', code: 44, message: 'Broker: Policy violation' },
        { topic: 'c', code: 36, message: "Topic 'c' is marked for deletion." },
        { topic: 'd', code: 38, message: 'Broker: Invalid replication factor' },
      ],
    });
    const text = explainCreateFailure(aggregate, { replicationFactor: 3, brokers: 1 });
    expect(text).not.toContain('Topic creation errors');
    expect(text).toContain('a: not authorized to create it');
    expect(text).toContain("b: the cluster's topic policy refused it");
    expect(text).toContain('c: it already exists or is still being deleted');
    expect(text).toContain('d: replication factor 3 is not possible with 1 broker');
  });
});
