import type { KafkaJS as KafkaJSTypes } from '@confluentinc/kafka-javascript';
import type { Logger } from 'pino';
import type { BrokerWatch } from './connectivity.js';

/**
 * Keeps librdkafka's own lines to a few a minute, whatever it repeats. A
 * broken connection makes every client of the process (admin, producer, each
 * consumer) say the same few things once per broker per retry: 30 to 60 lines
 * in the seconds before an outage is confirmed, hundreds when a broker goes
 * away and comes back slowly. The role's outage lines (see BrokerWatch) say
 * what matters; this lets through the first of each kind of client line, and
 * no more than `budget` client lines per window in all, and counts the rest.
 * It only decides; it keeps no timer and reads the time from `now`.
 */
export interface ClientLogFilterOptions {
  now: () => number;
  /** Client lines written per window, all kinds together. */
  budget?: number;
  /** How long a kind of line stays folded after it was written, and the budget's window. */
  windowMs?: number;
}

/** Write it or not; `folded`: client lines held back since the last one written. */
export type ClientLogVerdict = { write: true; folded: number } | { write: false };

/** Kinds of line remembered at most; older ones are forgotten first. */
const MAX_KINDS = 500;

export class ClientLogFilter {
  private readonly budget: number;
  private readonly windowMs: number;
  /** When each kind of line was last written. */
  private readonly lastWritten = new Map<string, number>();
  /** When each line of the current window was written, oldest first. */
  private writtenAt: number[] = [];
  private folded = 0;

  constructor(private readonly options: ClientLogFilterOptions) {
    this.budget = options.budget ?? 3;
    this.windowMs = options.windowMs ?? 60_000;
  }

  admit(message: string): ClientLogVerdict {
    const now = this.options.now();
    this.writtenAt = this.writtenAt.filter((time) => now - time < this.windowMs);
    const kind = clientLogKind(message);
    const last = this.lastWritten.get(kind);
    if ((last !== undefined && now - last < this.windowMs) || this.writtenAt.length >= this.budget) {
      this.folded += 1;
      return { write: false };
    }
    this.remember(kind, now);
    this.writtenAt.push(now);
    const folded = this.folded;
    this.folded = 0;
    return { write: true, folded };
  }

  private remember(kind: string, now: number): void {
    // Re-inserted, so the map's order is the order of last writing and the oldest goes first.
    this.lastWritten.delete(kind);
    this.lastWritten.set(kind, now);
    for (const oldest of this.lastWritten.keys()) {
      if (this.lastWritten.size <= MAX_KINDS) break;
      this.lastWritten.delete(oldest);
    }
  }
}

/**
 * What a client line says, without what differs between repeats of it: the
 * thread and broker it came from, addresses, counts and times. "Connect to
 * ipv4#127.0.0.1:9092 failed" from the admin client's bootstrap thread and
 * from the group coordinator's is one kind of line.
 */
export function clientLogKind(message: string): string {
  return message
    .replace(/^\[thrd:[^\]]*\]:\s*/, '')
    .replace(/^[^\s:]+(:\d+)?\/[^\s:]+:\s*/, '')
    .replace(/^GroupCoordinator(\/\d+)?:\s*(\S+:\d+:\s*)?/, '')
    .replace(/\s*\(after \d+ms in state .*\)$/, '')
    .replace(/\d+/g, 'N')
    .slice(0, 200);
}

export interface ClientLoggerOptions {
  /** Where the client's lines go (the `librdkafka` component of the process's Kafka log). */
  log: Logger;
  watch: Pick<BrokerWatch, 'complaint' | 'aside'>;
  filter: ClientLogFilter;
  /** Lines that are no news, whatever their level: debug only. */
  ignore: (message: string) => boolean;
  /** Every error the client logs, written or not (it says why a connection failed). */
  onError: (message: string) => void;
}

/**
 * The logger the Kafka client writes through. Each line at info and above
 * goes, in turn: to debug when it is no news; to the watch, which counts it
 * for its own lines during an outage or while one is being confirmed; to the
 * filter, which writes the first of each kind, a few a minute, and counts the
 * rest on the next line it writes. What is held back stays at debug level.
 * librdkafka retries connection errors by itself, so its errors are warnings.
 */
export function clientLogger(options: ClientLoggerOptions): KafkaJSTypes.Logger {
  const { log, watch, filter } = options;
  const forward = (level: 'info' | 'warn', message: string, extra: object | undefined) => {
    const aside = options.ignore(message) || (level === 'info' ? watch.aside() : watch.complaint(message));
    const verdict = aside ? undefined : filter.admit(message);
    if (!verdict?.write) log.debug(extra, message);
    else if (verdict.folded > 0) log[level]({ ...extra, clientLinesFolded: verdict.folded }, message);
    else log[level](extra, message);
  };
  const logger: KafkaJSTypes.Logger = {
    debug: (message, extra) => log.debug(extra, message),
    info: (message, extra) => forward('info', message, extra),
    warn: (message, extra) => forward('warn', message, extra),
    error: (message, extra) => {
      options.onError(message);
      forward('warn', message, extra);
    },
    namespace: () => logger,
    setLogLevel: () => {},
  };
  return logger;
}
