/**
 * Issue 22, part 7: one real change to a contract, through `pizza schemas:check` on a real
 * Schema Registry. `pizza-ordered` gained an optional `delivery_note`; the contracts from
 * before it are kept as test/fixtures/contracts/v1. The side-by-side run of old and new
 * roles is test/faults/contracts-evolution.test.ts.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { CompatibilityReport } from '../../src/adapters/contracts/compatibility.js';
import { CONTRACT_TOPICS } from '../../src/adapters/contracts/contracts.js';
import { repoRoot, runPizza } from '../support/cli.js';
import { V1_CONTRACTS } from '../support/contract-versions.js';
import { TOPIC_INI_KEYS } from '../support/ini.js';
import { kafkaBootstrap, randomName } from '../support/kafka.js';
import { contractTopicNames, schemasCheckIni, testRegistryClient } from '../support/registry.js';

type AvroRecord = { name: string; fields: { name: string; type: unknown; default?: unknown }[] };

/** The `order` record of pizza-ordered's contract. */
const orderRecord = (schema: AvroRecord) => schema.fields.find((field) => field.name === 'order')?.type as AvroRecord;

describe('evolving pizza-ordered under FULL: an optional delivery_note, through schemas:check', () => {
  it('the kept v1 is the shipped contract without the note, and nothing else changed', () => {
    const read = (dir: string, file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as AvroRecord;
    const shipped = read(join(repoRoot, 'contracts'), 'pizza-ordered.avsc');
    const v1 = read(V1_CONTRACTS, 'pizza-ordered.avsc');
    expect(orderRecord(shipped).fields.at(-1)).toMatchObject({
      name: 'delivery_note',
      type: ['null', 'string'],
      default: null,
    });
    orderRecord(shipped).fields.pop();
    expect(v1).toEqual(shipped);
    for (const key of CONTRACT_TOPICS.filter((topic) => topic !== 'ordered')) {
      const file = `${TOPIC_INI_KEYS[key].replaceAll('_', '-')}.avsc`;
      expect(readFileSync(join(V1_CONTRACTS, file), 'utf8'), file).toBe(
        readFileSync(join(repoRoot, 'contracts', file), 'utf8'),
      );
    }
  });

  it('registers v1, takes v2 as compatible and registers it as version 2, and refuses a v3 that makes the note required', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pizza-evolution-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const run = randomName('evo');
    const topics = contractTopicNames(run);
    /** One config per contracts dir, all naming the same topics, so the same subjects. */
    const config = (name: string, contractsDir: string) => {
      const file = join(dir, `${name}.ini`);
      writeFileSync(file, schemasCheckIni(kafkaBootstrap(), topics, { contractsDir }));
      return file;
    };
    const report = (result: { stdout: string }) => JSON.parse(result.stdout) as CompatibilityReport;
    const ordered = (result: { stdout: string }) =>
      report(result).contracts.find((contract) => contract.topic === topics.ordered);

    // v1: the contracts as they were, registered first, each subject at FULL.
    const v1 = runPizza(['schemas:check', '--config', config('v1', V1_CONTRACTS), '--json']);
    expect(v1.code, v1.stderr).toBe(0);
    expect(ordered(v1)).toMatchObject({ state: 'registered', version: 1 });

    // v2: the shipped contracts. Checked first without registering, then registered.
    const v2Config = config('v2', '');
    const checked = runPizza(['schemas:check', '--config', v2Config, '--check-only', '--json']);
    expect(checked.code, checked.stderr).toBe(0);
    expect(ordered(checked)).toMatchObject({ state: 'compatible', problems: [] });
    const v2 = runPizza(['schemas:check', '--config', v2Config, '--json']);
    expect(v2.code, v2.stderr).toBe(0);
    expect(ordered(v2)).toMatchObject({ state: 'registered', version: 2, previousVersion: 1 });
    expect(
      report(v2)
        .contracts.filter((contract) => contract.topic !== topics.ordered)
        .map((contract) => contract.state),
    ).toEqual(CONTRACT_TOPICS.filter((key) => key !== 'ordered').map(() => 'unchanged'));
    const client = await testRegistryClient();
    const subject = `${topics.ordered}-value`;
    expect((await client.getConfig(subject)).compatibilityLevel).toBe('FULL');
    expect(JSON.parse((await client.getLatestSchemaMetadata(subject)).schema)).toEqual(
      JSON.parse(readFileSync(join(repoRoot, 'contracts', 'pizza-ordered.avsc'), 'utf8')),
    );

    // v3: the note made required (a string, no default). Old orders have none: new readers
    // could not read them, so FULL refuses it, naming the topic and the field.
    const v3Dir = join(dir, 'v3');
    cpSync(join(repoRoot, 'contracts'), v3Dir, { recursive: true });
    const v3Schema = JSON.parse(readFileSync(join(v3Dir, 'pizza-ordered.avsc'), 'utf8')) as AvroRecord;
    const note = orderRecord(v3Schema).fields.find((field) => field.name === 'delivery_note');
    if (!note) throw new Error('the shipped pizza-ordered has no delivery_note');
    note.type = 'string';
    delete note.default;
    writeFileSync(join(v3Dir, 'pizza-ordered.avsc'), JSON.stringify(v3Schema, null, 2));
    const v3Config = config('v3', v3Dir);
    const refused = runPizza(['schemas:check', '--config', v3Config]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(new RegExp(`incompatible: topic ${topics.ordered}, field order\\.delivery_note`));
    const refusedJson = runPizza(['schemas:check', '--config', v3Config, '--json']);
    expect(refusedJson.code).toBe(1);
    expect(ordered(refusedJson)).toMatchObject({
      state: 'incompatible',
      problems: [{ field: 'order.delivery_note' }],
    });
    expect((await client.getLatestSchemaMetadata(subject)).version).toBe(2);
  });
});
