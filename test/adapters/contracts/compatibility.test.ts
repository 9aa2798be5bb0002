import type { Client, SchemaInfo, ServerConfig } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CompatibilityReport,
  checkContracts,
  REGISTRY_UNREACHABLE_EXIT_CODE,
} from '../../../src/adapters/contracts/compatibility.js';
import { type Contract, loadContracts } from '../../../src/adapters/contracts/contracts.js';
import { fullCompatibilityProblems } from '../../../src/adapters/contracts/schema-diff.js';
import { EXIT_CODES, PizzaError } from '../../../src/errors.js';
import { testSettings } from '../../support/settings.js';

const URL = 'http://registry.test/apis/ccompat/v7';

/**
 * A registry in memory, as Confluent's answers it: 404 for a subject with no versions or
 * no level of its own, FULL judged by Avro's rules. `calls` records what was changed.
 */
class FakeRegistry {
  readonly subjects = new Map<string, { versions: string[]; level?: string }>();
  readonly calls: string[] = [];
  failWith: unknown;

  client(): Client {
    const fail = (): void => {
      if (this.failWith) throw this.failWith;
    };
    const notFound = () => Object.assign(new Error('not found'), { status: 404 });
    const subject = (name: string) => {
      let found = this.subjects.get(name);
      if (!found) {
        found = { versions: [] };
        this.subjects.set(name, found);
      }
      return found;
    };
    const fake: Partial<Client> = {
      getLatestSchemaMetadata: async (name) => {
        fail();
        const versions = this.subjects.get(name)?.versions ?? [];
        const schema = versions.at(-1);
        if (schema === undefined) throw notFound();
        return { id: 100 + versions.length, version: versions.length, schema };
      },
      getConfig: async (name) => {
        fail();
        const level = this.subjects.get(name)?.level;
        if (!level) throw notFound();
        return { compatibilityLevel: level } as ServerConfig;
      },
      updateConfig: async (name, update) => {
        this.calls.push(`level ${name} ${update.compatibility}`);
        subject(name).level = update.compatibility;
        return update;
      },
      testSubjectCompatibility: async (name, info: SchemaInfo) => {
        const latest = this.subjects.get(name)?.versions.at(-1);
        if (latest === undefined) return true;
        const type = (text: string) => avro.Type.forSchema(JSON.parse(text));
        return fullCompatibilityProblems(type(latest), type(info.schema)).length === 0;
      },
      register: async (name, info) => {
        this.calls.push(`register ${name}`);
        subject(name).versions.push(info.schema);
        return 100 + subject(name).versions.length;
      },
      getVersion: async (name, info) => (this.subjects.get(name)?.versions.indexOf(info.schema) ?? -1) + 1,
    };
    return fake as Client;
  }
}

/** A contract with one change to its schema, as a changed contracts_dir would give. */
function changed(contract: Contract, edit: (fields: Contract['schema']['fields']) => void): Contract {
  const schema = structuredClone(contract.schema);
  edit(schema.fields);
  return { ...contract, schema, text: JSON.stringify(schema) };
}

describe('checkContracts: the contracts against what a registry holds', () => {
  let contracts: Contract[];
  let cleanup: () => void;
  beforeAll(async () => {
    const test = testSettings();
    cleanup = test.cleanup;
    contracts = await loadContracts(test.settings.topics);
  });
  afterAll(() => cleanup());

  const check = (registry: FakeRegistry, list: Contract[], checkOnly = false): Promise<CompatibilityReport> =>
    checkContracts(registry.client(), list, { checkOnly, registryUrl: URL });
  const states = (report: CompatibilityReport) => report.contracts.map((result) => result.state);
  const [ordered, assembled] = [0, 1].map((index) => () => contracts[index] as Contract) as [
    () => Contract,
    () => Contract,
  ];

  it('sets each subject to FULL and registers every contract, then finds them unchanged', async () => {
    const registry = new FakeRegistry();
    const first = await check(registry, contracts);
    expect(first.ok).toBe(true);
    expect(states(first)).toEqual(contracts.map(() => 'registered'));
    expect(first.contracts.every((result) => result.level === 'FULL' && result.version === 1)).toBe(true);

    registry.calls.length = 0;
    const second = await check(registry, contracts);
    expect(states(second)).toEqual(contracts.map(() => 'unchanged'));
    expect(registry.calls).toEqual([]);
  });

  it('keeps a subject at FULL_TRANSITIVE, the stricter level', async () => {
    const registry = new FakeRegistry();
    registry.subjects.set(ordered().subject, { versions: [], level: 'FULL_TRANSITIVE' });
    const report = await check(registry, [ordered()]);
    expect(report.contracts[0]?.level).toBe('FULL_TRANSITIVE');
    expect(registry.calls).toEqual([`register ${ordered().subject}`]);
  });

  it('registers nothing when one contract is refused, and names its field', async () => {
    const registry = new FakeRegistry();
    await check(registry, [ordered(), assembled()]);
    registry.calls.length = 0;
    const optionalAdded = changed(ordered(), (fields) => {
      fields.push({ name: 'note', type: ['null', 'string'], default: null });
    });
    const typeChanged = changed(assembled(), (fields) => {
      const bakingTime = fields.find((field) => field.name === 'baking_time');
      if (bakingTime) bakingTime.type = 'string';
    });
    const report = await check(registry, [optionalAdded, typeChanged]);
    expect(report.ok).toBe(false);
    expect(states(report)).toEqual(['compatible', 'incompatible']);
    expect(report.contracts[1]?.problems).toEqual([
      { field: 'baking_time', change: expect.stringContaining('type changed from double to string') },
    ]);
    expect(registry.calls).toEqual([]);
  });

  it('checking only, changes no level and registers nothing', async () => {
    const registry = new FakeRegistry();
    const report = await check(registry, contracts, true);
    expect(report.ok).toBe(true);
    expect(states(report)).toEqual(contracts.map(() => 'new'));
    expect(registry.calls).toEqual([]);
  });

  it('checking only, fails a subject with versions below FULL, naming what FULL would refuse', async () => {
    const registry = new FakeRegistry();
    registry.subjects.set(ordered().subject, { versions: [ordered().text], level: 'BACKWARD' });
    registry.subjects.set(assembled().subject, { versions: [assembled().text] });
    const dropped = changed(ordered(), (fields) => {
      fields.splice(
        fields.findIndex((field) => field.name === 'status'),
        1,
      );
    });
    const report = await check(registry, [dropped, assembled()], true);
    expect(report.ok).toBe(false);
    expect(report.contracts.map((result) => [result.state, result.level])).toEqual([
      ['level-not-full', 'BACKWARD'],
      ['level-not-full', undefined],
    ]);
    expect(report.contracts[0]?.problems.map((problem) => problem.field)).toEqual(['status']);
    expect(registry.calls).toEqual([]);
  });

  it.each([
    ['ECONNREFUSED', { code: 'ECONNREFUSED' }],
    ['HTTP 503', { status: 503, message: 'unavailable' }],
  ])('turns a registry that is away (%s) into one line and exit code 3', async (_name, failure) => {
    const registry = new FakeRegistry();
    registry.failWith = Object.assign(new Error('request failed'), failure);
    const error = await check(registry, [ordered()]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PizzaError);
    expect(error).toMatchObject({
      code: 'SCHEMA_REGISTRY_UNAVAILABLE',
      userFacing: true,
      exitCode: REGISTRY_UNREACHABLE_EXIT_CODE,
    });
    expect((error as Error).message).toMatch(new RegExp(`^the Schema Registry at ${URL} could not be reached`));
  });

  it('turns refused credentials into a config error (exit 2)', async () => {
    const registry = new FakeRegistry();
    registry.failWith = Object.assign(new Error('Unauthorized'), { status: 401 });
    const error = await check(registry, [ordered()]).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CONFIG', exitCode: EXIT_CODES.usage });
    expect((error as Error).message).toContain('basic.auth.user.info');
  });
});
