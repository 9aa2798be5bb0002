import { createHash } from 'node:crypto';
import { type DeadLetterReason, HEADERS } from '../../domain/headers.js';
import type { Bus, BusRecord, OutgoingHeaders } from './bus.js';

/**
 * Limits that keep a dead letter well inside Kafka's default 1 MB message
 * size, so a record refused for being too large can still be dead-lettered.
 */
export const DEAD_LETTER_LIMITS = { keyBytes: 1_024, valueBytes: 256 * 1_024, errorChars: 1_000 } as const;

export interface DeadLetter {
  key: Buffer | string;
  value: Buffer | null;
  headers: OutgoingHeaders;
}

/**
 * The record to publish for one that can never be worked on: its key and
 * value as they were (cut to fit, with hashes of the originals, when too
 * large), and headers saying where it came from, who gave up and why.
 */
export function deadLetterFor(
  record: BusRecord,
  failure: { role: string; reason: DeadLetterReason; error: unknown; now: number },
): DeadLetter {
  const names = HEADERS.deadLetter;
  const headers: OutgoingHeaders = {};
  for (const [name, value] of Object.entries(record.headers)) headers[`${names.originalPrefix}${name}`] = value;
  const key = record.keyBytes ?? (record.key === null ? null : Buffer.from(record.key, 'utf8'));
  const truncated: string[] = [];
  let keyOut: Buffer = key ?? Buffer.alloc(0);
  if (key && key.length > DEAD_LETTER_LIMITS.keyBytes) {
    truncated.push('key');
    headers[names.keySha256] = sha256(key);
    keyOut = key.subarray(0, DEAD_LETTER_LIMITS.keyBytes);
  }
  let valueOut = record.value;
  if (valueOut && valueOut.length > DEAD_LETTER_LIMITS.valueBytes) {
    truncated.push('value');
    headers[names.valueSha256] = sha256(valueOut);
    valueOut = valueOut.subarray(0, DEAD_LETTER_LIMITS.valueBytes);
  }
  const message = failure.error instanceof Error ? failure.error.message : String(failure.error);
  Object.assign(headers, {
    [names.topic]: record.topic,
    [names.partition]: String(record.partition),
    [names.offset]: record.offset,
    [names.role]: failure.role,
    [names.reason]: failure.reason,
    [names.error]: message.slice(0, DEAD_LETTER_LIMITS.errorChars),
    [names.time]: new Date(failure.now).toISOString(),
  });
  if (truncated.length > 0) headers[names.truncated] = truncated.join(',');
  return { key: keyOut, value: valueOut, headers };
}

/** A dead letter as the `dead-letters` command lists it. */
export interface DeadLetterEntry {
  /** Where the dead letter itself sits, `partition:offset`, which names it for a replay. */
  id: string;
  source: { topic: string; partition: number; offset: string };
  role: string;
  reason: string;
  error: string;
  time: string;
  truncated: string[];
  key: string | null;
  /** The value as text when it is UTF-8, else base64 with `valueEncoding` saying so. */
  value: string | null;
  valueEncoding: 'utf8' | 'base64';
}

export function describeDeadLetter(record: BusRecord): DeadLetterEntry {
  const names = HEADERS.deadLetter;
  const header = (name: string) => record.headers[name]?.toString('utf8') ?? '';
  const valueText = record.value === null ? null : record.value.toString('utf8');
  const isText = record.value !== null && Buffer.from(valueText ?? '', 'utf8').equals(record.value);
  return {
    id: `${record.partition}:${record.offset}`,
    source: { topic: header(names.topic), partition: Number(header(names.partition)), offset: header(names.offset) },
    role: header(names.role),
    reason: header(names.reason),
    error: header(names.error),
    time: header(names.time),
    truncated: header(names.truncated) ? header(names.truncated).split(',') : [],
    key: record.key,
    value: isText ? valueText : (record.value?.toString('base64') ?? null),
    valueEncoding: isText ? 'utf8' : 'base64',
  };
}

/** The original record a dead letter stands for, ready to publish back to its source topic. */
export function replayOf(record: BusRecord): DeadLetter & { topic: string } {
  const names = HEADERS.deadLetter;
  const topic = record.headers[names.topic]?.toString('utf8');
  if (!topic) throw new Error(`dead letter ${record.partition}:${record.offset} names no source topic`);
  if (record.headers[names.truncated]) {
    throw new Error(
      `dead letter ${record.partition}:${record.offset} was cut to fit (${record.headers[names.truncated]}); it cannot be replayed as it was`,
    );
  }
  const headers: OutgoingHeaders = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (name.startsWith(names.originalPrefix)) headers[name.slice(names.originalPrefix.length)] = value;
  }
  headers[HEADERS.replayedFrom] = `${record.partition}:${record.offset}`;
  return { topic, key: record.keyBytes ?? Buffer.alloc(0), value: record.value, headers };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface DeadLettersResult {
  entries: DeadLetterEntry[];
  /** Ids (`partition:offset`) published back to their source topics. */
  replayed: string[];
  /** Ids asked for that are not on the topic. */
  unknown: string[];
}

/**
 * Lists a dead-letter topic and publishes the chosen dead letters back to the
 * topics they came from, with their original key, value and headers, plus one
 * header naming the dead letter. Nothing is replayed when an id is unknown.
 */
export async function listAndReplay(
  bus: Bus,
  topic: string,
  replay: readonly string[] | 'all' = [],
): Promise<DeadLettersResult> {
  const records = await bus.readTopic(topic);
  const entries = records.map(describeDeadLetter);
  const wanted = replay === 'all' ? entries.map((entry) => entry.id) : replay;
  const known = new Set(entries.map((entry) => entry.id));
  const unknown = wanted.filter((id) => !known.has(id));
  const replayed: string[] = [];
  if (unknown.length > 0) return { entries, replayed, unknown };
  for (const record of records) {
    const id = `${record.partition}:${record.offset}`;
    if (!wanted.includes(id)) continue;
    const original = replayOf(record);
    await bus.publish(original.topic, original.key, original.value, original.headers);
    replayed.push(id);
  }
  return { entries, replayed, unknown };
}
