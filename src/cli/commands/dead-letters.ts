import type { Command } from 'commander';
import pino from 'pino';
import type { Bus } from '../../adapters/bus/bus.js';
import { type DeadLettersResult, listAndReplay } from '../../adapters/bus/dead-letter.js';
import type { Settings } from '../../config/settings.js';
import { configError, EXIT_CODES } from '../../errors.js';
import { parseCommonOptions, withSettingsOptions } from '../options.js';

/** Lists the dead letters and replays the chosen ones; an unknown id replays nothing and is an error. */
export async function deadLetters(
  bus: Bus,
  settings: Settings,
  options: { replay?: string[] | 'all' } = {},
): Promise<DeadLettersResult> {
  const result = await listAndReplay(bus, settings.topics.deadLetter, options.replay ?? []);
  if (result.unknown.length > 0) {
    throw configError(
      `No dead letter ${result.unknown.join(', ')} on ${settings.topics.deadLetter}; nothing was replayed. Ids are partition:offset, as listed by pizza dead-letters.`,
    );
  }
  return result;
}

export function formatDeadLetters(result: DeadLettersResult, topic: string): string {
  if (result.entries.length === 0) return `No dead letters on ${topic}.\n`;
  const lines = result.entries.map((entry) => {
    const key = entry.key === null ? '(no key)' : JSON.stringify(entry.key.slice(0, 24));
    const cut = entry.truncated.length > 0 ? ` [cut: ${entry.truncated.join(',')}]` : '';
    return `${entry.id}  ${entry.time}  ${entry.source.topic}[${entry.source.partition}]@${entry.source.offset}  ${entry.role}  ${entry.reason}  key ${key}${cut}\n    ${entry.error}`;
  });
  if (result.replayed.length > 0) lines.push('', `Replayed: ${result.replayed.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function parseReplay(raw: Record<string, unknown>): string[] | 'all' {
  if (raw.replayAll === true) return 'all';
  if (typeof raw.replay !== 'string') return [];
  const ids = raw.replay
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  if (ids.some((id) => !/^\d+:\d+$/.test(id))) {
    throw configError(`--replay takes ids such as 0:12,3:4 (partition:offset), not "${raw.replay}".`);
  }
  return ids;
}

/** On the embedded bus the dead letters live in `pizza all`'s memory: ask its operator address. */
export async function viaOperator(
  url: string,
  replay: string[] | 'all',
): Promise<DeadLettersResult & { topic: string }> {
  const listing = await fetch(new URL('/dead-letters', url));
  const listed = (await listing.json()) as { topic: string; entries: DeadLettersResult['entries']; error?: string };
  if (!listing.ok) throw configError(`${url}: ${listed.error ?? listing.statusText}`);
  const ids = replay === 'all' ? listed.entries.map((entry) => entry.id) : replay;
  let replayed: string[] = [];
  if (ids.length > 0) {
    // The operator address changes state on a JSON POST only (see adapters/operator/request-guard.ts).
    const response = await fetch(new URL('/dead-letters/replay', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids }),
    });
    const body = (await response.json()) as { replayed?: string[]; error?: string };
    if (!response.ok) throw configError(`${url}: ${body.error ?? response.statusText}`);
    replayed = body.replayed ?? [];
  }
  return { topic: listed.topic, entries: listed.entries, replayed, unknown: [] };
}

export function deadLettersCommand(program: Command): Command {
  return withSettingsOptions(program.command('dead-letters'))
    .description('list the records the roles gave up on, and replay chosen ones to their source topic')
    .option(
      '--replay <ids>',
      'comma-separated dead-letter ids (partition:offset) to publish back to their source topic',
    )
    .option('--replay-all', 'publish every dead letter back to its source topic')
    .option('--from <url>', "a running pizza's operator address (printed at start), e.g. for the embedded bus")
    .option('--json', 'print a machine-readable list')
    .action(async (raw: Record<string, unknown>) => {
      const { settings } = parseCommonOptions(raw);
      const replay = parseReplay(raw);
      let result: DeadLettersResult & { topic: string };
      if (typeof raw.from === 'string') {
        result = await viaOperator(raw.from, replay);
      } else {
        if (!settings.kafka) {
          throw configError(
            'dead-letters reads the dead-letter topic on Kafka: give --config FILE. On the embedded bus the dead letters live in the memory of the running `pizza all`: give --from with the operator address it printed at start.',
          );
        }
        const { createKafkaBus } = await import('../../adapters/kafka/kafka-bus.js');
        const bus = await createKafkaBus({ settings, log: pino({ level: 'warn' }, pino.destination(2)) });
        try {
          await bus.requireTopics([settings.topics.deadLetter]);
          result = { topic: settings.topics.deadLetter, ...(await deadLetters(bus, settings, { replay })) };
        } finally {
          await bus.close();
        }
      }
      process.stdout.write(
        raw.json === true ? `${JSON.stringify(result, null, 2)}\n` : formatDeadLetters(result, result.topic),
      );
      process.exitCode = EXIT_CODES.ok;
    });
}
