import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import pino from 'pino';
import type { Settings } from '../../config/settings.js';
import {
  buildLineage,
  type LineageModel,
  type LineageSample,
  lineagePlan,
  ROLE_REPORT_TTL_MS,
} from '../../domain/lineage.js';
import { configError, EXIT_CODES } from '../../errors.js';
import { gracefulStop } from '../graceful-stop.js';
import { parseCommonOptions, withSettingsOptions } from '../options.js';
import { WebSession } from './load.js';

const WATCH_MS = 2_000;

type Row = Array<string | number>;

function table(header: Row, rows: Row[]): string {
  const all = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const rate = (value: number | null) => (value === null ? '-' : value.toFixed(1));

/** The model as the terminal shows it: services, topics, then every group's partitions. */
export function formatLineage(model: LineageModel): string {
  const services = table(
    ['SERVICE', 'INSTANCES', 'IN FLIGHT', 'LAG', 'WAITING', 'CONSUMED/S', 'OUTPUT/S'],
    model.services.map((service) => {
      const stage = service.name !== 'web' && service.name !== 'flink';
      return [
        `${service.name}${service.bottleneck ? ' *' : ''}`,
        service.instances ?? '-',
        service.inFlight === null ? '-' : `${service.inFlight}/${service.capacity}`,
        stage ? service.lag : '-',
        stage ? service.waiting : '-',
        stage ? rate(service.consumedPerSecond) : '-',
        service.name === 'flink' ? rate(service.outputPerSecond) : '-',
      ];
    }),
  );
  const topics = table(
    ['TOPIC', 'PARTITIONS', 'EVENTS/S', 'TOTAL'],
    model.topics.map((topic) => [
      topic.name,
      topic.exists ? topic.partitions : 'missing',
      rate(topic.perSecond),
      topic.total,
    ]),
  );
  const partitions = table(
    ['GROUP', 'MEMBERS', 'TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG'],
    model.services.flatMap((service) =>
      service.groups.flatMap((group) =>
        group.topics.flatMap((topic) =>
          topic.partitions.map((partition) => [
            `${group.groupId}${group.counted ? '' : ' (not counted)'}`,
            group.members,
            topic.topic,
            partition.partition,
            partition.committed,
            partition.end,
            partition.lag,
          ]),
        ),
      ),
    ),
  );
  const head = `Stream lineage on ${model.bus === 'kafka' ? 'Kafka' : 'the embedded bus'} at ${new Date(model.at).toISOString()}`;
  const slowest = model.bottleneck ? `Slowest stage (*): ${model.summary}` : model.summary;
  const notes = model.notes.map((note) => `Note: ${note}`);
  const legend =
    'Lag counts records after the committed offset, in flight included (commits trail the work); waiting = lag - in flight.';
  return [head, slowest, ...notes, '', services, '', topics, '', partitions, '', legend, ''].join('\n');
}

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
  const { kafkaLineageSource } = await import('../../adapters/kafka/lineage-source.js');
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
  while (!stop.aborted) {
    const model = await read();
    // Clear the screen on a terminal; a pipe gets one table after another.
    process.stdout.write(`${process.stdout.isTTY ? '\x1b[2J\x1b[H' : ''}${formatLineage(model)}\n`);
    // Aborted by the stop, the wait ends at once (and rejects, which is no error here).
    await sleep(WATCH_MS, undefined, { signal: stop }).catch(() => {});
  }
}
