import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { configPrintCommand } from './commands/config-print.js';
import { deadLettersCommand } from './commands/dead-letters.js';
import { flinkPrintCommand } from './commands/flink-print.js';
import { lineageCommand } from './commands/lineage.js';
import { loadCommand } from './commands/load.js';
import { roleCommand } from './commands/run-roles.js';
import { schemasCheckCommand } from './commands/schemas-check.js';
import { topicsCheckCommand } from './commands/topics-check.js';
import { handleError } from './handle-error.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command('pizza')
    .description(
      'An event-driven pizza shop on Apache Kafka: a web app, a kitchen and delivery that talk only through topics.',
    )
    .version(version)
    .showHelpAfterError();
  for (const role of ['all', 'serve', 'assemble', 'bake', 'deliver', 'status'] as const) roleCommand(program, role);
  topicsCheckCommand(program);
  schemasCheckCommand(program);
  flinkPrintCommand(program);
  deadLettersCommand(program);
  lineageCommand(program);
  loadCommand(program);
  configPrintCommand(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // Before anything opens a file: orders.db (and its -wal and -shm), logs and secrets are the owner's alone.
  process.umask(0o077);
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    handleError(error);
  }
}
