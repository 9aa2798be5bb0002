import type { Command } from 'commander';
import { PizzaError } from '../../errors.js';
import { withSettingsOptions } from '../options.js';

export function topicsCheckCommand(program: Command): Command {
  return withSettingsOptions(program.command('topics:check'))
    .description('check (and with --create, create) the Kafka topics the roles need')
    .option('--create', 'create the missing topics')
    .option('--json', 'print a machine-readable report')
    .action(() => {
      throw new PizzaError('NOT_AVAILABLE', 'topics:check is not available yet: it arrives with the Kafka transport.');
    });
}
