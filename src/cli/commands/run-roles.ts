import type { Command } from 'commander';
import { createLoggerFactory, type LoggerFactory } from '../../adapters/logs/logger.js';
import { startTracing } from '../../adapters/tracing/tracing.js';
import type { RoleName, Settings } from '../../config/settings.js';
import { type RunningShop, startShop } from '../../roles/shop.js';
import { gracefulStop } from '../graceful-stop.js';
import { parseCommonOptions, withRoleOptions, withStatusOptions, withWebOptions } from '../options.js';

const DESCRIPTIONS: Record<RoleName, string> = {
  serve: 'run the web app, with its own copy of the orders view: log in, order, follow your pizza',
  assemble: 'run the assembly service: pizza-ordered → pizza-assembled',
  bake: 'run the oven: pizza-assembled → pizza-baked',
  deliver: 'run delivery: pizza-ordered + pizza-baked → pizza-delivered (or pizza-pending)',
  status: 'run the status service: keeps the orders view current and flags stuck orders',
};

/** A subcommand that runs one role, or all of them, until Ctrl-C or SIGTERM. */
export function roleCommand(program: Command, name: RoleName | 'all'): Command {
  // A web host keeps its own orders view, rebuilt from the topics: the status role runs beside it.
  const roles: RoleName[] =
    name === 'all'
      ? ['serve', 'assemble', 'bake', 'deliver', 'status']
      : name === 'serve'
        ? ['serve', 'status']
        : [name];
  let command = program
    .command(name)
    .description(
      name === 'all'
        ? 'run every role in one process (the embedded bus when there is no --config)'
        : DESCRIPTIONS[name],
    );
  command = withRoleOptions(command);
  if (roles.includes('serve')) command = withWebOptions(command);
  if (roles.includes('status')) command = withStatusOptions(command);
  return command.action(async (raw: Record<string, unknown>) => {
    const { settings, logLevel, logFormat } = parseCommonOptions(raw);
    const logs = createLoggerFactory({
      level: logLevel,
      format: logFormat,
      logDir: settings.shop.logDir,
      files: { maxSize: settings.shop.logFileMaxSize, keep: settings.shop.logFilesKept },
    });
    await startUntilStopped(name, roles, settings, logs);
  });
}

/**
 * Starts the roles and returns; they run until a stop signal, when
 * graceful-stop.ts runs the shop's stop (the web app first, then work in
 * flight handed back or finished, commits, the bus, the databases) and exits.
 */
async function startUntilStopped(
  name: RoleName | 'all',
  roles: RoleName[],
  settings: Settings,
  logs: LoggerFactory,
): Promise<void> {
  let starting: Promise<RunningShop> | undefined;
  let tracing: ReturnType<typeof startTracing> | undefined;
  // Registered before anything starts: a signal during start-up waits for it, then stops what started.
  const stopping = gracefulStop(
    // Role files are written asynchronously: the last lines often say why it stopped.
    { log: logs.root, timeoutMs: settings.shop.stopTimeoutMs, beforeExit: () => logs.flush() },
    async () => {
      const shop = await starting?.catch(() => undefined);
      logs.root.info('shutting down: no new work, handing back what is unfinished');
      await shop?.stop();
      await tracing?.shutdown().catch((err: unknown) => logs.root.warn({ err }, 'could not send the last traces'));
      logs.root.info('stopped cleanly');
    },
  );
  try {
    // Tracing costs nothing unless an endpoint is set; then every record carries a traceparent header.
    tracing = settings.shop.otlpEndpoint
      ? startTracing({ serviceName: `pizza-${name}`, endpoint: settings.shop.otlpEndpoint })
      : undefined;
    starting = startShop({ settings, roles, logs, traced: tracing !== undefined });
    const shop = await starting;
    if (stopping.signal.aborted) return;
    logs.root.info(
      {
        bus: settings.kafka ? `kafka ${settings.kafka['bootstrap.servers']}` : 'embedded',
        roles,
        timeScale: settings.shop.timeScale,
        dataDir: settings.shop.dataDir,
        logDir: settings.shop.logDir,
        operator: shop.operatorUrl,
      },
      shop.url ? `pizza shop open at ${shop.url}` : `pizza ${name} running`,
    );
    if (shop.url && process.stdout.isTTY) printBanner(shop.url, settings.kafka ? 'Kafka' : 'the embedded bus');
  } catch (error) {
    // Nothing runs to be stopped: the error is the command's outcome (handle-error.ts).
    stopping.uninstall();
    await tracing?.shutdown().catch(() => {});
    logs.flush();
    throw error;
  }
}

function printBanner(url: string, bus: string): void {
  process.stdout.write(
    `\n  🍕  The pizza shop is open at ${url}\n      running on ${bus}; press Ctrl-C to close it.\n\n`,
  );
}
