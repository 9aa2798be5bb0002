import type { Client, Compatibility, SchemaMetadata } from '@confluentinc/schemaregistry';
import type { Type } from 'avsc';
import { configError, PizzaError } from '../../errors.js';
import { type Contract, contractInfo } from './contracts.js';
import { isNotFound, registryUnreachable } from './registry-client.js';
import { type FieldProblem, fullCompatibilityProblems } from './schema-diff.js';

/**
 * The level every contract subject gets. Confluent's default, BACKWARD, only promises that
 * new readers read old events. While a fleet switches one role at a time, old and new roles
 * run side by side and read each other's events, so both directions must hold: FULL.
 * A subject already at FULL_TRANSITIVE (stricter) keeps it.
 */
export const CONTRACT_COMPATIBILITY = 'FULL';
const FULL_LEVELS: readonly string[] = ['FULL', 'FULL_TRANSITIVE'];

/**
 * What became of one contract:
 * - `registered`: the registry took it (a new subject, or a compatible change);
 * - `unchanged`: the subject's latest version is the contract already;
 * - `compatible`: a change the registry would take, not registered (--check-only, or another contract failed);
 * - `new`: the subject has no version yet, and the contract was not registered (same reasons);
 * - `incompatible`: the registry refuses the change under FULL;
 * - `level-not-full`: (check only) the subject holds versions but is not at FULL: its changes are not checked both ways.
 */
export type ContractState = 'registered' | 'unchanged' | 'compatible' | 'new' | 'incompatible' | 'level-not-full';

export interface ContractCheck {
  topic: string;
  subject: string;
  file: string;
  state: ContractState;
  /** The subject's compatibility level after the check (undefined: none of its own). */
  level?: string;
  /** The registry's id of the contract and its version under the subject, once it holds it. */
  id?: number;
  version?: number;
  /** The version the contract was compared with. */
  previousVersion?: number;
  /** The fields that break FULL compatibility; empty when the registry accepts the change. */
  problems: FieldProblem[];
}

export interface CompatibilityReport {
  ok: boolean;
  checkOnly: boolean;
  contracts: ContractCheck[];
}

export interface CheckContractsOptions {
  /** Register nothing and change no level: only say what registering would do. */
  checkOnly: boolean;
  /** The registry's address, for error messages. */
  registryUrl: string;
}

/**
 * Checks every contract against what the registry holds under its subject, with the
 * registry as the judge, and (unless `checkOnly`) sets each subject's level to FULL and
 * registers the contracts. Either all of them are registered or none: a release's
 * contracts go together, so one refused change leaves every subject as it was (bar its
 * level). Running it twice changes nothing.
 */
export async function checkContracts(
  client: Client,
  contracts: Contract[],
  options: CheckContractsOptions,
): Promise<CompatibilityReport> {
  const { default: avro } = await import('avsc');
  const parse = (schema: string): Type => avro.Type.forSchema(JSON.parse(schema));
  const results: ContractCheck[] = [];
  for (const contract of contracts) {
    try {
      results.push(await checkContract(client, contract, options.checkOnly, parse));
    } catch (error) {
      throw registryError(error, options.registryUrl, contract.subject);
    }
  }
  const failed: ContractState[] = ['incompatible', 'level-not-full'];
  const ok = results.every((result) => !failed.includes(result.state));
  if (ok && !options.checkOnly) {
    for (const [index, result] of results.entries()) {
      if (result.state !== 'new' && result.state !== 'compatible') continue;
      const contract = contracts[index] as Contract;
      try {
        results[index] = { ...result, state: 'registered', ...(await register(client, contract)) };
      } catch (error) {
        throw registryError(error, options.registryUrl, contract.subject);
      }
    }
  }
  return { ok, checkOnly: options.checkOnly, contracts: results };
}

async function checkContract(
  client: Client,
  contract: Contract,
  checkOnly: boolean,
  parse: (schema: string) => Type,
): Promise<ContractCheck> {
  const { subject } = contract;
  const base = { topic: contract.topic, subject, file: contract.file, problems: [] as FieldProblem[] };
  const latest = await latestVersion(client, subject);
  let level = await subjectLevel(client, subject);
  if (!checkOnly && !FULL_LEVELS.includes(level ?? '')) {
    await client.updateConfig(subject, { compatibility: CONTRACT_COMPATIBILITY as Compatibility });
    level = CONTRACT_COMPATIBILITY;
  }

  if (!latest) return { ...base, state: 'new', level };
  const previous = { previousVersion: latest.version };
  if ((latest.schemaType ?? 'AVRO') !== 'AVRO') {
    const problem = { field: '(the record)', change: `the subject holds a ${latest.schemaType} schema, not Avro` };
    return { ...base, ...previous, state: 'incompatible', level, problems: [problem] };
  }
  const unchanged = sameSchema(latest.schema, contract.text);
  const problems = unchanged ? [] : fullCompatibilityProblems(parse(latest.schema), parse(contract.text));
  // Checking only, pizza does not set the level, and a subject below FULL would let the next change through unchecked.
  if (checkOnly && !FULL_LEVELS.includes(level ?? '')) {
    return { ...base, ...previous, state: 'level-not-full', level, problems };
  }
  if (unchanged) return { ...base, state: 'unchanged', level, id: latest.id, version: latest.version };
  if (!(await client.testSubjectCompatibility(subject, contractInfo(contract)))) {
    // The registry judges; when pizza cannot name the field, the line still names the topic.
    return { ...base, ...previous, state: 'incompatible', level, problems };
  }
  return { ...base, ...previous, state: 'compatible', level };
}

async function register(client: Client, contract: Contract): Promise<{ id: number; version: number }> {
  const id = await client.register(contract.subject, contractInfo(contract), false);
  // Some registries (Apicurio) answer a registration with the id alone: ask which version it is.
  const version = await client.getVersion(contract.subject, contractInfo(contract), false, false);
  return { id, version };
}

async function latestVersion(client: Client, subject: string): Promise<SchemaMetadata | undefined> {
  try {
    return await client.getLatestSchemaMetadata(subject);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The subject's own level; undefined when it has none (Confluent answers 404, Apicurio NONE). */
async function subjectLevel(client: Client, subject: string): Promise<string | undefined> {
  try {
    const config = await client.getConfig(subject);
    const level = config.compatibilityLevel ?? config.compatibility;
    return level && level !== 'NONE' ? level : undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Equal as JSON, whatever the spacing the registry keeps it in. */
function sameSchema(registered: string, contractText: string): boolean {
  try {
    return JSON.stringify(JSON.parse(registered)) === contractText;
  } catch {
    return false;
  }
}

/** Exit code of `schemas:check` when the registry cannot be reached, apart from a failed check (1) and a config mistake (2). */
export const REGISTRY_UNREACHABLE_EXIT_CODE = 3;

/** One clear line for a registry that is away or refuses us; anything else stays as it is. */
function registryError(error: unknown, url: string, subject: string): unknown {
  const { status, code } = (error ?? {}) as { status?: unknown; code?: unknown };
  if (status === 401 || status === 403) {
    return configError(
      `the Schema Registry at ${url} refused pizza (HTTP ${status}): check basic.auth.user.info in [schema-registry]`,
      error,
    );
  }
  if (registryUnreachable(error)) {
    const why = typeof status === 'number' ? `HTTP ${status}` : String(code);
    return new PizzaError(
      'SCHEMA_REGISTRY_UNAVAILABLE',
      `the Schema Registry at ${url} could not be reached (${why}, asking about ${subject}); is it running? (npm run registry starts one)`,
      { cause: error, userFacing: true, exitCode: REGISTRY_UNREACHABLE_EXIT_CODE },
    );
  }
  if (typeof status === 'number') {
    // Any other refusal (a schema it cannot parse, say): its own words, without a stack trace.
    return new PizzaError(
      'PERMANENT',
      `the Schema Registry at ${url} refused a request about ${subject} (HTTP ${status}): ${(error as Error).message}`,
      { cause: error, userFacing: true },
    );
  }
  return error;
}
