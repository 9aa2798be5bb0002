import type { Command } from 'commander';
import pino from 'pino';
import type { Bus } from '../../adapters/bus/bus.js';
import { type DeadLetterEntry, describeDeadLetter, replayOf } from '../../adapters/bus/dead-letter.js';
import type { Settings } from '../../config/settings.js';
import { configError, EXIT_CODES, PizzaError } from '../../errors.js';
import { parseCommonOptions, withSettingsOptions } from '../options.js';

export interface DeadLettersResult {
  entries: DeadLetterEntry[];
  /** Ids (`partition:offset`) published back to their source topics. */
  replayed: string[];
}

/**
 * Lists the dead-letter topic and, with `replay`, publishes the chosen dead
 * letters back to the topics they came from, with their original key, value
 * and headers, plus one header naming the dead letter. Library code: tests
 * call it with any bus.
 */
export async function deadLetters(
  bus: Bus,
  settings: Settings,
  options: { replay?: string[] | 'all' } = {},
): Promise<DeadLettersResult> {
  const records = await bus.readTopic(settings.topics.deadLetter);
  const entries = records.map(describeDeadLetter);
  const replay = options.replay ?? [];
  const wanted = replay === 'all' ? entries.map((entry) => entry.id) : replay;
  const known = new Set(entries.map((entry) => entry.id));
  const unknown = wanted.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw configError(
      `No dead letter ${unknown.join(', ')} on ${settings.topics.deadLetter}. Ids are partition:offset, as listed by pizza dead-letters.`,
    );
  }
  const replayed: string[] = [];
  for (const record of records) {
    const id = `${record.partition}:${record.offset}`;
    if (!wanted.includes(id)) continue;
    const original = replayOf(record);
    await bus.publish(original.topic, original.key, original.value, original.headers);
    replayed.push(id);
  }
  return { entries, replayed };
}

export function formatDeadLetters(result: DeadLettersResult, settings: Settings): string {
  if (result.entries.length === 0) return `No dead letters on ${settings.topics.deadLetter}.\n`;
  const lines = result.entries.map((entry) => {
    const key = entry.key === null ? '(no key)' : JSON.stringify(entry.key.slice(0, 24));
    const cut = entry.truncated.length > 0 ? ` [cut: ${entry.truncated.join(',')}]` : '';
    return `${entry.id}  ${entry.time}  ${entry.source.topic}[${entry.source.partition}]@${entry.source.offset}  ${entry.role}  ${entry.reason}  key ${key}${cut}\n    ${entry.error}`;
  });
  if (result.replayed.length > 0) lines.push('', `Replayed: ${result.replayed.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export function deadLettersCommand(program: Command): Command {
  return withSettingsOptions(program.command('dead-letters'))
    .description('list the records the roles gave up on, and replay chosen ones to their source topic')
    .option(
      '--replay <ids>',
      'comma-separated dead-letter ids (partition:offset) to publish back to their source topic',
    )
    .option('--replay-all', 'publish every dead letter back to its source topic')
    .option('--json', 'print a machine-readable list')
    .action(async (raw: Record<string, unknown>) => {
      const { settings } = parseCommonOptions(raw);
      if (!settings.kafka) {
        throw configError(
          'dead-letters reads the dead-letter topic on Kafka: give --config FILE. On the embedded bus, dead letters live in the memory of the running `pizza all`, which logs each one as an error.',
        );
      }
      const replay =
        raw.replayAll === true
          ? ('all' as const)
          : typeof raw.replay === 'string'
            ? raw.replay
                .split(',')
                .map((id) => id.trim())
                .filter(Boolean)
            : [];
      if (Array.isArray(replay) && replay.some((id) => !/^\d+:\d+$/.test(id))) {
        throw configError(`--replay takes ids such as 0:12,3:4 (partition:offset), not "${raw.replay}".`);
      }
      const { createKafkaBus } = await import('../../adapters/bus/kafka.js');
      const bus = await createKafkaBus({ settings, log: pino({ level: 'warn' }, pino.destination(2)) });
      try {
        await bus.requireTopics([settings.topics.deadLetter]);
        const result = await deadLetters(bus, settings, { replay });
        process.stdout.write(
          raw.json === true
            ? `${JSON.stringify({ topic: settings.topics.deadLetter, ...result }, null, 2)}\n`
            : formatDeadLetters(result, settings),
        );
        process.exitCode = EXIT_CODES.ok;
      } catch (error) {
        if (error instanceof PizzaError) throw error;
        throw new PizzaError('KAFKA_UNREACHABLE', `Could not read ${settings.topics.deadLetter}: ${String(error)}`, {
          cause: error,
        });
      } finally {
        await bus.close();
      }
    });
}
