import type { Command } from 'commander';
import { PizzaError } from '../../errors.js';
import { withSettingsOptions } from '../options.js';

export function flinkPrintCommand(program: Command): Command {
  return withSettingsOptions(program.command('flink:print'))
    .description('print the Flink SQL that builds the pizza-status topic')
    .option('--dialect <dialect>', 'confluent (Confluent Cloud SQL workspace) or apache (Apache Flink)', 'confluent')
    .option('--out <dir>', 'write one file per statement into this directory')
    .action(() => {
      throw new PizzaError('NOT_AVAILABLE', 'flink:print is not available yet: it arrives with the Flink status path.');
    });
}
