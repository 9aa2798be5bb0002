import type { Command } from 'commander';
import pRetry from 'p-retry';
import pino from 'pino';
import { clusterBrokers, type KafkaAdmin, KafkaClients } from '../../adapters/kafka/client.js';
import { canRetry } from '../../adapters/kafka/errors.js';
import { createMissingTopics } from '../../adapters/kafka/topic-creation.js';
import { inspectTopics, isConfluentCloud, type TopicReport, type TopicState } from '../../adapters/kafka/topics.js';
import type { Settings } from '../../config/settings.js';
import { configError, EXIT_CODES, PizzaError } from '../../errors.js';
import { parseCommonOptions, withSettingsOptions } from '../options.js';

export interface TopicsCheckResult {
  report: TopicReport;
  created: string[];
  /** Missing topics --create leaves for the Flink statement to create (pizza-status on Confluent Cloud). */
  leftForFlink: string[];
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
    // The brokers' advertised names tell Confluent Cloud even behind a private link or a proxy.
    const brokers = await clusterBrokers(clients).catch((error: unknown) => {
      throw clients.connectionError(error);
    });
    const confluentCloud = isConfluentCloud(
      settings,
      brokers.map((broker) => broker.host),
    );
    let report = await inspectTopics(admin, settings, { confluentCloud });
    let created: string[] = [];
    let leftForFlink: string[] = [];
    let notes: string[] = [];
    if (options.create) {
      ({ created, leftForFlink, notes } = await createMissingTopics(admin, settings, report, {
        brokerCount: async () => brokers.length,
        confluentCloud,
      }));
      if (created.length > 0) report = await untilCreatedShow(admin, settings, created, confluentCloud, options.signal);
    }
    for (const topic of report.topics) {
      if (created.includes(topic.name) && !topic.exists) {
        report.problems.push(
          `${topic.name} was created but does not show up yet: if it was just deleted, wait a minute and run this again`,
        );
      }
    }
    return {
      report,
      created,
      leftForFlink,
      notes,
      exitCode: report.problems.length === 0 ? EXIT_CODES.ok : EXIT_CODES.failed,
    };
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
  confluentCloud: boolean,
  signal: AbortSignal | undefined,
): Promise<TopicReport> {
  try {
    return await pRetry(
      async () => {
        const report = await inspectTopics(admin, settings, { confluentCloud });
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

function stateOf(topic: TopicState, created: string[]): string {
  if (topic.exists) return created.includes(topic.name) ? 'created' : 'ok';
  return topic.leftForFlink ? 'for Flink' : 'MISSING';
}

export function formatReport(result: TopicsCheckResult, settings: Settings): string {
  const rows = result.report.topics.map((topic) => [
    topic.name,
    stateOf(topic, result.created),
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
    const config = settings.files.at(-1) ?? 'FILE';
    if (result.report.topics.some((topic) => !topic.exists && !topic.leftForFlink)) {
      lines.push(`Create the missing topics with: pizza topics:check --config ${config} --create`);
    }
    const flink = result.report.topics.filter((topic) => topic.leftForFlink).map((topic) => topic.name);
    if (flink.length > 0) {
      lines.push(`Create ${flink.join(', ')} with the Flink statements from: pizza flink:print --config ${config}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function topicsCheckCommand(program: Command): Command {
  return withSettingsOptions(program.command('topics:check'))
    .description('check (and with --create, create) the Kafka topics the roles need')
    .option('--create', 'create the missing topics (on Confluent Cloud all but pizza-status, which Flink creates)')
    .option('--json', 'print a machine-readable report')
    .action(async (raw: Record<string, unknown>) => {
      const { settings } = parseCommonOptions(raw);
      const result = await checkTopics(settings, { create: raw.create === true });
      const output =
        raw.json === true
          ? `${JSON.stringify({ ok: result.exitCode === EXIT_CODES.ok, ...result.report, created: result.created, leftForFlink: result.leftForFlink, notes: result.notes }, null, 2)}\n`
          : formatReport(result, settings);
      process.stdout.write(output);
      process.exitCode = result.exitCode;
    });
}
