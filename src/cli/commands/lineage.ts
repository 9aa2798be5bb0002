import type { Command } from 'commander';
import pino from 'pino';
import type { Settings } from '../../config/settings.js';
import { configError, EXIT_CODES } from '../../errors.js';
import { buildLineage, type LineageModel, type LineageSample } from '../../lineage/model.js';
import { ROLE_REPORT_TTL_MS } from '../../lineage/observations.js';
import { lineagePlan } from '../../lineage/plan.js';
import { formatLineage } from '../../lineage/table.js';
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
      const reader = await openReader(settings, typeof raw.from === 'string' ? raw.from : undefined);
      try {
        if (raw.json === true) {
          process.stdout.write(`${JSON.stringify(await reader.read(), null, 2)}\n`);
        } else if (raw.watch === true) {
          await watch(reader.read);
        } else {
          process.stdout.write(formatLineage(await reader.read()));
        }
      } finally {
        await reader.close();
      }
      process.exitCode = EXIT_CODES.ok;
    });
}

async function watch(read: () => Promise<LineageModel>): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // A refresh every WATCH_MS until Ctrl-C, not a retry: a failed read ends the command, so no p-retry.
    while (!stop.signal.aborted) {
      const model = await read();
      // Clear the screen on a terminal; a pipe gets one table after another.
      process.stdout.write(`${process.stdout.isTTY ? '\x1b[2J\x1b[H' : ''}${formatLineage(model)}\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, WATCH_MS);
        stop.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
