import { type Command, Option } from 'commander';
import { z } from 'zod';
import type { LogLevel } from '../adapters/logs/logger.js';
import { loadSettings, type Settings, type SettingsFlags } from '../config/settings.js';
import { configError } from '../errors.js';

/** Flags every subcommand that reads settings accepts. */
export function withSettingsOptions(command: Command): Command {
  return command
    .option(
      '-c, --config <file>',
      'Kafka client file with a [kafka] section (librdkafka properties); omit for the embedded bus',
    )
    .option(
      '--system-config <file>',
      "system settings in the workshop's default.ini format (topics, statuses, menu, ...)",
    )
    .addOption(
      new Option('--log-level <level>', 'console log level')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'console lines: pretty or json (default: pretty on a terminal)').choices([
        'pretty',
        'json',
      ]),
    );
}

/** Flags of the subcommands that run roles. */
export function withRoleOptions(command: Command): Command {
  return withSettingsOptions(command)
    .option('--time-scale <factor>', 'multiplies every simulated duration: 1 is real time, 0 is instant')
    .option('--capacity <n>', 'orders each stage works on at once (overrides the per-stage settings)')
    .option('--data-dir <dir>', 'where the SQLite files live (default .data)')
    .option('--log-dir <dir>', 'where each role writes its log file (default .data/logs)')
    .option(
      '--operator-port <port>',
      'port for /metrics, /health, /ready and /dead-letters on 127.0.0.1 (default: any free port)',
    );
}

export function withWebOptions(command: Command): Command {
  return command
    .option('--host <host>', 'web app address (default 127.0.0.1)')
    .option('--port <port>', 'web app port (default 8000)');
}

export function withStatusOptions(command: Command): Command {
  return command.addOption(
    new Option(
      '--status-source <source>',
      'where the status view reads from: the Flink-built topic or the stage topics',
    ).choices(['auto', 'topics', 'pizza-status']),
  );
}

const commonSchema = z.object({
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  logFormat: z.enum(['pretty', 'json']).optional(),
});

export interface CommonOptions {
  settings: Settings;
  logLevel: LogLevel;
  logFormat: 'pretty' | 'json' | undefined;
}

/** Parses a subcommand's options once: flags into settings, plus the log level. */
export function parseCommonOptions(raw: Record<string, unknown>): CommonOptions {
  const common = commonSchema.safeParse(raw);
  if (!common.success) throw configError(`--log-level: ${common.error.issues[0]?.message ?? 'invalid'}`);
  const flags = settingsFlags(raw);
  // The one place pizza reads the process environment: PIZZA__* settings.
  return {
    settings: loadSettings(flags, { env: process.env }),
    logLevel: common.data.logLevel,
    logFormat: common.data.logFormat,
  };
}

/** The settings a subcommand's flags give, as `loadSettings` takes them. */
export function settingsFlags(raw: Record<string, unknown>): SettingsFlags {
  const flags: SettingsFlags = {};
  for (const key of [
    'config',
    'systemConfig',
    'timeScale',
    'capacity',
    'dataDir',
    'logDir',
    'host',
    'port',
    'statusSource',
    'operatorPort',
  ] as const) {
    const value = raw[key];
    if (typeof value === 'string') flags[key] = value;
  }
  return flags;
}
