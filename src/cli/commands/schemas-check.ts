import type { Client } from '@confluentinc/schemaregistry';
import type { Command } from 'commander';
import {
  CONTRACT_COMPATIBILITY,
  type CompatibilityReport,
  type ContractCheck,
  checkContracts,
} from '../../adapters/contracts/compatibility.js';
import { loadContracts } from '../../adapters/contracts/contracts.js';
import { createRegistryClient } from '../../adapters/contracts/registry-client.js';
import type { Settings } from '../../config/settings.js';
import { configError, EXIT_CODES } from '../../errors.js';
import { parseCommonOptions, withSettingsOptions } from '../options.js';

export interface SchemasCheckOptions {
  checkOnly: boolean;
  /** A client to use instead of one built from [schema-registry] (tests). */
  client?: Client;
}

/**
 * Checks the contracts against the registry in [schema-registry] and registers them.
 * Library code: the command below only prints.
 */
export async function checkSchemas(settings: Settings, options: SchemasCheckOptions): Promise<CompatibilityReport> {
  const section = settings.schemaRegistry;
  const url = section?.url?.trim();
  if (!section || !url) {
    throw configError(
      'schemas:check needs a Schema Registry: give --config FILE with a [schema-registry] section (url, and basic.auth.user.info for Confluent Cloud); npm run registry starts one locally.',
    );
  }
  const contracts = await loadContracts(settings.topics, settings.shop.contracts.dir);
  // One retry: a command run by hand or by CI should say "unreachable" within seconds.
  const client = options.client ?? (await createRegistryClient(section, 1));
  try {
    return await checkContracts(client, contracts, { checkOnly: options.checkOnly, registryUrl: url });
  } finally {
    if (!options.client) client.close();
  }
}

const STATE_WORDS: Record<ContractCheck['state'], string> = {
  registered: 'registered',
  unchanged: 'unchanged',
  compatible: 'compatible',
  new: 'new',
  incompatible: 'INCOMPATIBLE',
  'level-not-full': 'NOT FULL',
};

function versionOf(result: ContractCheck): string {
  if (result.version !== undefined) return String(result.version);
  return result.previousVersion === undefined ? '-' : `${result.previousVersion} (latest)`;
}

/** One line per problem, naming the topic and the field, for a person or a CI log. */
function problemLines(report: CompatibilityReport): string[] {
  const lines: string[] = [];
  for (const result of report.contracts) {
    if (result.state === 'incompatible') {
      if (result.problems.length === 0) {
        lines.push(
          `incompatible: topic ${result.topic}: the registry refuses ${result.file} under ${result.level ?? 'its level'} against version ${result.previousVersion}; pizza could not name the field`,
        );
      }
      for (const problem of result.problems) {
        lines.push(`incompatible: topic ${result.topic}, field ${problem.field}: ${problem.change}`);
      }
    }
    if (result.state === 'level-not-full') {
      lines.push(
        `not checked: topic ${result.topic}: ${result.subject} is at ${result.level ?? 'the registry default'}, not ${CONTRACT_COMPATIBILITY}; run schemas:check without --check-only to set it`,
      );
      for (const problem of result.problems) {
        lines.push(`  under ${CONTRACT_COMPATIBILITY} it would fail: field ${problem.field}: ${problem.change}`);
      }
    }
  }
  return lines;
}

export function formatSchemasReport(report: CompatibilityReport): string {
  const table = [
    ['topic', 'subject', 'state', 'version', 'level'],
    ...report.contracts.map((result) => [
      result.topic,
      result.subject,
      STATE_WORDS[result.state],
      versionOf(result),
      result.level ?? '-',
    ]),
  ];
  const widths = table[0]?.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length))) ?? [];
  const lines = table.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  lines.push('');
  const problems = problemLines(report);
  if (problems.length > 0) {
    lines.push(...problems);
    if (!report.checkOnly) lines.push('Nothing was registered: the contracts go in together, once every one passes.');
  } else if (report.checkOnly) {
    lines.push(
      `Every contract is ${CONTRACT_COMPATIBILITY}-compatible with what the registry holds (nothing registered).`,
    );
  } else {
    lines.push(`Every contract is registered, each subject at ${CONTRACT_COMPATIBILITY} compatibility.`);
  }
  return `${lines.join('\n')}\n`;
}

export function schemasCheckCommand(program: Command): Command {
  return withSettingsOptions(program.command('schemas:check'))
    .description(
      `register the Avro contracts of the workshop topics in the Schema Registry, each subject at ${CONTRACT_COMPATIBILITY} compatibility; an incompatible change fails, naming the topic and the field`,
    )
    .option('--check-only', 'register nothing and change no level: only check the contracts against the registry')
    .option('--json', 'print a machine-readable report')
    .action(async (raw: Record<string, unknown>) => {
      const { settings } = parseCommonOptions(raw);
      const report = await checkSchemas(settings, { checkOnly: raw.checkOnly === true });
      const output =
        raw.json === true
          ? `${JSON.stringify({ ...report, registry: settings.schemaRegistry?.url }, null, 2)}\n`
          : formatSchemasReport(report);
      process.stdout.write(output);
      process.exitCode = report.ok ? EXIT_CODES.ok : EXIT_CODES.failed;
    });
}
