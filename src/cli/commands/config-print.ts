import type { Command } from 'commander';
import { type DescribedSetting, describeSettings, sectionDescription, sourceLabel } from '../../config/describe.js';
import { loadSettingLayers, loadSettings } from '../../config/settings.js';
import { settingsFlags, withRoleOptions, withStatusOptions, withWebOptions } from '../options.js';

export function configPrintCommand(program: Command): Command {
  const command = withStatusOptions(withWebOptions(withRoleOptions(program.command('config:print'))));
  return command
    .description(
      'print the settings as pizza merges them (flags > PIZZA__* environment > --config > --system-config > built-in), secrets masked, each with its source',
    )
    .option('--json', 'print a machine-readable report')
    .option('--describe', "add each setting's description and PIZZA__* environment variable")
    .action((raw: Record<string, unknown>) => {
      const flags = settingsFlags(raw);
      // The one other place the process environment is read, for the same PIZZA__* settings.
      const sources = { env: process.env };
      // Checked as a role would check them, so a mistake shows here the same way.
      loadSettings(flags, sources);
      const docs = raw.describe === true;
      const settings = describeSettings(loadSettingLayers(flags, sources), { docs });
      process.stdout.write(raw.json === true ? formatJson(settings) : formatText(settings, { docs }));
    });
}

export function formatJson(settings: DescribedSetting[]): string {
  const sections: Record<string, Record<string, Omit<DescribedSetting, 'section' | 'key'>>> = {};
  for (const { section, key, ...rest } of settings) {
    sections[section] ??= {};
    sections[section][key] = rest;
  }
  return `${JSON.stringify({ sections }, null, 2)}\n`;
}

/**
 * Ini-like, one setting a line; a list (the menu) on one line, comma-separated,
 * as pizza also reads it. With `docs`, each section and setting has a comment
 * line above it saying what it is for, and the variable that sets it.
 */
export function formatText(settings: DescribedSetting[], options: { docs?: boolean } = {}): string {
  const lines = ['# flags > PIZZA__* environment > --config > --system-config > built-in; secrets shown as ****'];
  let section: string | undefined;
  const width = Math.min(56, Math.max(...settings.map((setting) => assignment(setting).length)));
  for (const setting of settings) {
    if (setting.section !== section) {
      section = setting.section;
      lines.push('', `[${section}]`);
      const about = options.docs ? sectionDescription(section) : undefined;
      if (about !== undefined) lines.push(`# ${about}`);
    }
    if (options.docs) {
      const env = setting.env === undefined ? undefined : `(env ${setting.env})`;
      const about = [setting.description, env].filter((part) => part !== undefined).join(' ');
      if (about !== '') lines.push(`# ${about}`);
    }
    lines.push(`${assignment(setting).padEnd(width)}  # ${sourceLabel(setting.source)}`);
  }
  return `${lines.join('\n')}\n`;
}

function assignment(setting: DescribedSetting): string {
  return `${setting.key} = ${setting.value.split('\n').join(', ')}`;
}
