import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import pino from 'pino';
import type { Settings } from '../../config/settings.js';
import { configError, EXIT_CODES } from '../../errors.js';
import { buildLineage, type LineageModel, type LineageSample } from '../../lineage/model.js';
import { ROLE_REPORT_TTL_MS } from '../../lineage/observations.js';
import { lineagePlan } from '../../lineage/plan.js';
import { formatLineage } from '../../lineage/table.js';
import { gracefulStop } from '../graceful-stop.js';
import { parseCommonOptions, withSettingsOptions } from '../options.js';
import { WebSession } from './load.js';

const WATCH_MS = 2_000;

/** Where the figures come from: a running web app's /lineage.json, or the Kafka cluster itself. */
async function openReader(
  settings: Settings,
  from: string | undefined,
): Promise<{
  read(): Promise<LineageModel>;
  close(): Promise<void>;
}> {
  if (from !== undefined) {
    const session = await WebSession.login(from, 'operator');
    return {
      async read() {
        const response = await session.get('/lineage.json');
        if (!response.ok) throw configError(`${from}/lineage.json answered HTTP ${response.status}.`);
        const body = (await response.json()) as { model: LineageModel | null; error: string | null };
        if (!body.model) throw configError(`${from} has no lineage figures yet: ${body.error ?? 'try again'}`);
        return body.model;
      },
      close: async () => {},
    };
  }
  if (!settings.kafka) {
    throw configError(
      'lineage reads a Kafka cluster: give --config FILE. On the embedded bus every figure lives in the memory of the running `pizza all`: give --from with its web address, e.g. --from http://127.0.0.1:8000.',
    );
  }
  const plan = lineagePlan(settings, { bus: 'kafka', reportTtlMs: ROLE_REPORT_TTL_MS });
  const { kafkaLineageSource } = await import('../../adapters/kafka/kafka-lineage-source.js');
  const source = kafkaLineageSource({ settings, plan, log: pino({ level: 'warn' }, pino.destination(2)) });
  let previous: LineageSample | undefined;
  return {
    async read() {
      const model = buildLineage(await source.observe(), plan, previous);
      previous = model.sample;
      return model;
    },
    close: () => source.close(),
  };
}

export function lineageCommand(program: Command): Command {
  return withSettingsOptions(program.command('lineage'))
    .description('show where events are: services, topics, consumer groups, lag, work in flight and the slowest stage')
    .option('--watch', `refresh the table every ${WATCH_MS / 1000} s until Ctrl-C`)
    .option('--json', 'print the model once as JSON, for scripts')
    .option('--from <url>', "a running web app's address, whose /lineage.json to read (the embedded bus)")
    .action(async (raw: Record<string, unknown>) => {
      const { settings } = parseCommonOptions(raw);
      const from = typeof raw.from === 'string' ? raw.from : undefined;
      if (raw.watch === true && raw.json === true) {
        throw configError('--watch and --json do not go together: --json prints the model once, for scripts.');
      }
      if (raw.watch === true) {
        await watchUntilStopped(settings, from);
      } else {
        const reader = await openReader(settings, from);
        try {
          const model = await reader.read();
          process.stdout.write(raw.json === true ? `${JSON.stringify(model, null, 2)}\n` : formatLineage(model));
        } finally {
          await reader.close();
        }
      }
      process.exitCode = EXIT_CODES.ok;
    });
}

/** Refreshes the table until a stop signal; graceful-stop.ts then waits for the reader to close, and exits. */
async function watchUntilStopped(settings: Settings, from: string | undefined): Promise<void> {
  let watching: Promise<void> | undefined;
  // Registered before the reader connects, so Ctrl-C while it does still closes it.
  const stopping = gracefulStop(
    { log: pino({ level: 'warn' }, pino.destination(2)), timeoutMs: settings.shop.stopTimeoutMs },
    async () => {
      await watching?.catch(() => {});
    },
  );
  watching = (async () => {
    const reader = await openReader(settings, from);
    try {
      await watch(reader.read, stopping.signal);
    } finally {
      await reader.close();
    }
  })();
  try {
    await watching;
  } catch (error) {
    stopping.uninstall();
    throw error;
  }
}

async function watch(read: () => Promise<LineageModel>, stop: AbortSignal): Promise<void> {
  // A refresh every WATCH_MS until stopped, not a retry: a failed read ends the command, so no p-retry.
  while (!stop.aborted) {
    const model = await read();
    // Clear the screen on a terminal; a pipe gets one table after another.
    process.stdout.write(`${process.stdout.isTTY ? '\x1b[2J\x1b[H' : ''}${formatLineage(model)}\n`);
    // Aborted by the stop, the wait ends at once (and rejects, which is no error here).
    await sleep(WATCH_MS, undefined, { signal: stop }).catch(() => {});
  }
}
