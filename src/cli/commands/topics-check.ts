import type { Command } from 'commander';
import pRetry from 'p-retry';
import pino from 'pino';
import { countBrokers, type KafkaAdmin, KafkaClients } from '../../adapters/kafka/client.js';
import { canRetry } from '../../adapters/kafka/errors.js';
import { createMissingTopics, inspectTopics, type TopicReport } from '../../adapters/kafka/topics.js';
import type { Settings } from '../../config/settings.js';
import { configError, EXIT_CODES, PizzaError } from '../../errors.js';
import { parseCommonOptions, withSettingsOptions } from '../options.js';

export interface TopicsCheckResult {
  report: TopicReport;
  created: string[];
  /** Lines the user should read, such as a replication factor fitted to the cluster. */
  notes: string[];
  exitCode: number;
}

/**
 * Checks (and with `create`, creates) the topics the roles need. Library code:
 * the command below only prints, and tests call this directly.
 */
export async function checkTopics(
  settings: Settings,
  options: { create: boolean; signal?: AbortSignal },
): Promise<TopicsCheckResult> {
  if (!settings.kafka) {
    throw configError(
      'topics:check needs a Kafka cluster: give --config FILE with a [kafka] section (bootstrap.servers, credentials).',
    );
  }
  // librdkafka's own complaints go nowhere; a failure comes back as one clear error.
  const clients = new KafkaClients(settings.kafka, pino({ level: 'silent' }));
  const admin = clients.admin();
  await admin.connect();
  try {
    await clients.probe(admin);
    let report = await inspectTopics(admin, settings);
    let created: string[] = [];
    let notes: string[] = [];
    if (options.create) {
      ({ created, notes } = await createMissingTopics(admin, settings, report, {
        brokerCount: () => countBrokers(clients),
      }));
      if (created.length > 0) report = await untilCreatedShow(admin, settings, created, options.signal);
    }
    for (const topic of report.topics) {
      if (created.includes(topic.name) && !topic.exists) {
        report.problems.push(
          `${topic.name} was created but does not show up yet: if it was just deleted, wait a minute and run this again`,
        );
      }
    }
    return { report, created, notes, exitCode: report.problems.length === 0 ? EXIT_CODES.ok : EXIT_CODES.failed };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Topics created that the last look did not show yet; carries that look. */
class TopicsNotShown extends PizzaError {
  constructor(
    readonly report: TopicReport,
    hidden: string[],
  ) {
    super('TOPICS_NOT_READY', `${hidden.join(', ')} created but not in the cluster's metadata yet`);
  }
}

/** Up to 50 looks, 200 ms apart: about 10 s for new topics to show up. */
const SHOW_UP_RETRIES = { retries: 49, minTimeout: 200, factor: 1 } as const;

/**
 * The controller answers before every broker's metadata shows new topics:
 * looks again until the created ones show up, else gives the last look.
 */
async function untilCreatedShow(
  admin: KafkaAdmin,
  settings: Settings,
  created: string[],
  signal: AbortSignal | undefined,
): Promise<TopicReport> {
  try {
    return await pRetry(
      async () => {
        const report = await inspectTopics(admin, settings);
        const hidden = report.topics.filter((topic) => created.includes(topic.name) && !topic.exists);
        if (hidden.length > 0) throw new TopicsNotShown(report, [...new Set(hidden.map((topic) => topic.name))]);
        return report;
      },
      { ...SHOW_UP_RETRIES, signal, shouldRetry: ({ error }) => canRetry(error) },
    );
  } catch (error) {
    if (error instanceof TopicsNotShown) return error.report;
    throw error;
  }
}

export function formatReport(result: TopicsCheckResult, settings: Settings): string {
  const rows = result.report.topics.map((topic) => [
    topic.name,
    topic.exists ? (result.created.includes(topic.name) ? 'created' : 'ok') : 'MISSING',
    topic.partitions === undefined ? '-' : String(topic.partitions),
    topic.replicationFactor === undefined ? '-' : String(topic.replicationFactor),
  ]);
  const table = [['topic', 'state', 'partitions', 'replication'], ...rows];
  const widths = table[0]?.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length))) ?? [];
  const lines = result.notes.map((note) => `note: ${note}`);
  if (lines.length > 0) lines.push('');
  lines.push(
    ...table.map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    ),
  );
  if (result.report.problems.length === 0) {
    lines.push('', 'All topics are in place.');
  } else {
    lines.push('', ...result.report.problems.map((problem) => `problem: ${problem}`));
    if (result.report.topics.some((topic) => !topic.exists)) {
      const config = settings.files.at(-1) ?? 'FILE';
      lines.push(`Create the missing topics with: pizza topics:check --config ${config} --create`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function topicsCheckCommand(program: Command): Command {
  return withSettingsOptions(program.command('topics:check'))
    .description('check (and with --create, create) the Kafka topics the roles need')
    .option('--create', 'create the missing topics')
    .option('--json', 'print a machine-readable report')
    .action(async (raw: Record<string, unknown>) => {
      const { settings } = parseCommonOptions(raw);
      const result = await checkTopics(settings, { create: raw.create === true });
      const output =
        raw.json === true
          ? `${JSON.stringify({ ok: result.exitCode === EXIT_CODES.ok, ...result.report, created: result.created, notes: result.notes }, null, 2)}\n`
          : formatReport(result, settings);
      process.stdout.write(output);
      process.exitCode = result.exitCode;
    });
}
