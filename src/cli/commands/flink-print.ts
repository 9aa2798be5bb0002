import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import type { Settings } from '../../config/settings.js';
import { configError } from '../../errors.js';
import { FLINK_DIALECTS, type FlinkDialect, flinkScript, loadFlinkStatements } from '../../flink/statements.js';
import { parseCommonOptions, withSettingsOptions } from '../options.js';

const optionsSchema = z.object({
  dialect: z.enum(FLINK_DIALECTS).default('confluent'),
  out: z.string().min(1).optional(),
});

export function flinkPrintCommand(program: Command): Command {
  return withSettingsOptions(program.command('flink:print'))
    .description('print the Flink SQL that builds the pizza-status topic, one statement after another')
    .addOption(
      new Option(
        '--dialect <dialect>',
        'confluent (paste into a Confluent Cloud SQL workspace) or apache (Apache Flink, connection from --config, else a <BOOTSTRAP_SERVERS> placeholder)',
      )
        .choices(FLINK_DIALECTS)
        .default('confluent'),
    )
    .option('--out <dir>', 'also write one numbered file per statement into this directory')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = optionsSchema.safeParse(raw);
      if (!parsed.success) throw configError(`flink:print: ${parsed.error.issues[0]?.message ?? 'invalid options'}`);
      const { settings } = parseCommonOptions(raw);
      await printFlinkStatements({ settings, dialect: parsed.data.dialect, outDir: parsed.data.out });
    });
}

export interface PrintFlinkOptions {
  settings: Settings;
  dialect: FlinkDialect;
  outDir?: string | undefined;
  write?: (text: string) => void;
}

/** Prints the script; with `outDir`, also writes `01-<name>.sql`, `02-...` there. */
export async function printFlinkStatements(options: PrintFlinkOptions): Promise<void> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  // Printed for a reader, so a missing connection becomes a marked placeholder rather than a refusal.
  const statements = await loadFlinkStatements(options.settings, options.dialect, { placeholderConnection: true });
  write(flinkScript(statements));
  if (options.dialect === 'apache' && !options.settings.kafka) {
    process.stderr.write('flink:print: no --config, so the statements say <BOOTSTRAP_SERVERS> where the brokers go\n');
  }
  if (options.outDir === undefined) return;
  const dir = resolve(options.outDir);
  mkdirSync(dir, { recursive: true });
  const width = Math.max(2, String(statements.length).length);
  statements.forEach((statement, index) => {
    const number = String(index + 1).padStart(width, '0');
    const fileName = `${number}-${statement.name.replace(/[^\w.-]+/g, '_')}.sql`;
    // Private: the Apache statements carry the cluster credentials.
    writeFileSync(join(dir, fileName), `${statement.sql}\n`, { mode: 0o600 });
  });
  process.stderr.write(`wrote ${statements.length} statements to ${dir}\n`);
}
