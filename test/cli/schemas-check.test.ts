import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { CompatibilityReport } from '../../src/adapters/contracts/compatibility.js';
import { CONTRACT_TOPICS } from '../../src/adapters/contracts/contracts.js';
import { pizzaBin, repoRoot } from '../support/cli.js';
import { kafkaBootstrap, randomName } from '../support/kafka.js';
import { contractTopicNames, schemasCheckIni, testRegistryClient } from '../support/registry.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built `pizza` (dist/, `npm run build`), as CI and a user run it. */
function pizza(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [pizzaBin, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
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

function json(run: Run): CompatibilityReport {
  return JSON.parse(run.stdout) as CompatibilityReport;
}

/**
 * A config file with this test's own topic names (so subjects of its own: `<topic>-value`)
 * and the suite's registry, or another `registryUrl`. `contractsDir`: a changed copy.
 */
function writeConfig(options: { registryUrl?: string; contractsDir?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-schemas-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const run = randomName('sc');
  const topics = contractTopicNames(run);
  const file = join(dir, 'client.ini');
  writeFileSync(file, schemasCheckIni(kafkaBootstrap(), topics, options));
  return { file, dir, topics };
}

type AvroRecord = { fields: { name: string; type: unknown; default?: unknown }[] };

/** A copy of the shipped contracts in `dir`, with `change` applied to some of them. */
function changedContracts(dir: string, change: Record<string, (schema: AvroRecord) => void>): string {
  const copy = join(dir, 'contracts');
  cpSync(join(repoRoot, 'contracts'), copy, { recursive: true });
  for (const [file, edit] of Object.entries(change)) {
    const path = join(copy, file);
    const schema = JSON.parse(readFileSync(path, 'utf8')) as AvroRecord;
    edit(schema);
    writeFileSync(path, JSON.stringify(schema, null, 2));
  }
  return copy;
}

const withOptionalNote = (schema: AvroRecord): void => {
  schema.fields.push({ name: 'note', type: ['null', 'string'], default: null });
};

describe('pizza schemas:check, against a real Schema Registry', () => {
  it('registers every contract with its subject at FULL, and changes nothing when run again', async () => {
    const { file, topics } = writeConfig();

    const checked = await pizza(['schemas:check', '--config', file, '--check-only', '--json']);
    expect(checked.code, checked.stderr).toBe(0);
    expect(json(checked).contracts.map((result) => result.state)).toEqual(CONTRACT_TOPICS.map(() => 'new'));

    const first = await pizza(['schemas:check', '--config', file]);
    expect(first.code, first.stderr).toBe(0);
    for (const key of CONTRACT_TOPICS) {
      expect(first.stdout).toMatch(new RegExp(`${topics[key]}\\s+${topics[key]}-value\\s+registered\\s+1\\s+FULL`));
    }
    const client = await testRegistryClient();
    for (const key of CONTRACT_TOPICS) {
      const subject = `${topics[key]}-value`;
      expect((await client.getConfig(subject)).compatibilityLevel).toBe('FULL');
      expect((await client.getLatestSchemaMetadata(subject)).version).toBe(1);
    }

    const second = await pizza(['schemas:check', '--config', file, '--json']);
    expect(second.code, second.stderr).toBe(0);
    const report = json(second);
    expect(report.ok).toBe(true);
    expect(report.contracts.map((result) => [result.topic, result.state, result.version])).toEqual(
      CONTRACT_TOPICS.map((key) => [topics[key], 'unchanged', 1]),
    );
  });

  it('fails on a breaking change, naming the topic and the field, and registers nothing', async () => {
    const { file, dir, topics } = writeConfig();
    expect((await pizza(['schemas:check', '--config', file])).code).toBe(0);

    const contractsDir = changedContracts(dir, {
      'pizza-ordered.avsc': (schema) => {
        const order = schema.fields.find((field) => field.name === 'order')?.type as AvroRecord;
        const sauce = order.fields.find((field) => field.name === 'sauce');
        if (sauce) sauce.type = 'int';
      },
      'pizza-baked.avsc': (schema) => {
        schema.fields = schema.fields.filter((field) => field.name !== 'timestamp');
      },
      'pizza-status.avsc': withOptionalNote, // Compatible, but it goes in with the others or not at all.
    });
    const changed = writeConfig({ contractsDir }).file;
    // The same topics as the first file, the changed contracts.
    writeFileSync(
      changed,
      readFileSync(file, 'utf8').replace(/^contracts_dir = .*$/m, `contracts_dir = ${contractsDir}`),
    );

    const refused = await pizza(['schemas:check', '--config', changed]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      `incompatible: topic ${topics.ordered}, field order.sauce: type changed from string to int`,
    );
    expect(refused.stdout).toContain(`incompatible: topic ${topics.baked}, field timestamp: removed`);
    expect(refused.stdout).toContain('Nothing was registered');

    const asJson = await pizza(['schemas:check', '--config', changed, '--json']);
    expect(asJson.code).toBe(1);
    const report = json(asJson);
    expect(report.ok).toBe(false);
    const byTopic = new Map(report.contracts.map((result) => [result.topic, result]));
    expect(byTopic.get(topics.ordered)).toMatchObject({ state: 'incompatible', problems: [{ field: 'order.sauce' }] });
    expect(byTopic.get(topics.baked)).toMatchObject({ state: 'incompatible', problems: [{ field: 'timestamp' }] });
    expect(byTopic.get(topics.status)).toMatchObject({ state: 'compatible', problems: [] });
    const client = await testRegistryClient();
    expect((await client.getLatestSchemaMetadata(`${topics.status}-value`)).version).toBe(1);
  });

  it('registers an optional field added with a null default as the next version', async () => {
    const { file, dir, topics } = writeConfig();
    expect((await pizza(['schemas:check', '--config', file])).code).toBe(0);
    const contractsDir = changedContracts(dir, { 'pizza-ordered.avsc': withOptionalNote });
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^contracts_dir = .*$/m, `contracts_dir = ${contractsDir}`));

    const evolved = await pizza(['schemas:check', '--config', file, '--json']);
    expect(evolved.code, evolved.stderr).toBe(0);
    const ordered = json(evolved).contracts.find((result) => result.topic === topics.ordered);
    expect(ordered).toMatchObject({ state: 'registered', version: 2, previousVersion: 1 });
  });

  it('exits 3 with one clear line when the registry cannot be reached', async () => {
    const closed = await closedPort();
    const { file } = writeConfig({ registryUrl: `http://127.0.0.1:${closed}/apis/ccompat/v7` });
    const result = await pizza(['schemas:check', '--config', file]);
    expect(result.code).toBe(3);
    expect(result.stderr.trim()).toBe(
      `pizza: the Schema Registry at http://127.0.0.1:${closed}/apis/ccompat/v7 could not be reached (ECONNREFUSED, asking about ${randomTopicOf(file)}-value); is it running? (npm run registry starts one)`,
    );
  });
});

/** The ordered topic's name in a config file written by writeConfig(). */
function randomTopicOf(file: string): string {
  return /^pizza_ordered = (.*)$/m.exec(readFileSync(file, 'utf8'))?.[1] ?? '';
}

/** A port nothing listens on: free a moment ago, and closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
