import { mkdirSync } from 'node:fs';
import pino, { type DestinationStream, type Logger, type StreamEntry } from 'pino';
import pretty from 'pino-pretty';
import { LineBuffer } from './line-buffer.js';
import { ORDER_LOGS_COMPONENT } from './order-log-line.js';
import { type OrderLogPublish, OrderLogSink, type OrderLogSinkOptions } from './order-log-sink.js';
import { currentLogFile, type RollingFileOptions, rollingFile } from './rolling-file.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LoggerFactoryOptions {
  level: LogLevel;
  /** Each role also writes JSON lines to `<logDir>/<role>.log`; undefined writes no files. */
  logDir: string | undefined;
  /**
   * Where the human-facing lines go; pretty when it is a terminal. By default
   * stdout, whose JSON lines (not a terminal: a service's file or pipe) are
   * written a few kilobytes at a time, each within 100 ms; a stream given here
   * gets each line as it is logged.
   */
  console?: NodeJS.WritableStream & { isTTY?: boolean };
  /** pretty or json on the console; by default pretty on a terminal, JSON otherwise. */
  format?: 'pretty' | 'json' | undefined;
  /** How the role files roll over. */
  files?: RollingFileOptions;
}

export interface LoggerFactory {
  /** The process-wide logger, for the CLI and the things no role owns. */
  root: Logger;
  /** A logger whose lines carry `role` and also land in that role's file. */
  forRole(role: string): Logger;
  /** Writes out buffered lines (console and role files); call before exit. */
  flush(): void;
  /** Writes out buffered lines and closes the role files; loggers made earlier then write to the console only. */
  close?(): Promise<void>;
  /** Resolves once every role file is open (they open in the background; lines wait meanwhile). */
  settled?(): Promise<void>;
  /**
   * Publishes every role's lines about an order (info and above, whatever the
   * console's level) through `publish`, from now until the returned sink is
   * closed. One sink at a time: a newer one takes over. Optional, so a
   * factory that writes nowhere need not publish either.
   */
  attachOrderLogSink?(
    publish: OrderLogPublish,
    options?: Omit<OrderLogSinkOptions, 'publish' | 'warn' | 'onClose'>,
  ): OrderLogSink;
}

/** A role's current log file (a link to the newest of its rolled files). */
export function logFilePath(logDir: string, role: string): string {
  return currentLogFile(logDir, role);
}

const DEFAULT_FILES: RollingFileOptions = { maxSize: '10m', keep: 5 };

type ConsoleLevel = Exclude<LogLevel, 'silent'>;
const LEVEL_ORDER: readonly ConsoleLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

function lowest(a: ConsoleLevel, b: ConsoleLevel): ConsoleLevel {
  return LEVEL_ORDER.indexOf(a) <= LEVEL_ORDER.indexOf(b) ? a : b;
}

export function createLoggerFactory(options: LoggerFactoryOptions): LoggerFactory {
  const console = options.console ?? process.stdout;
  const prettyConsole = options.format ? options.format === 'pretty' : Boolean(console.isTTY);
  // A write per line was most of a line's cost; a service's stdout is read by a collector, not watched.
  const consoleBuffer = !options.console && !prettyConsole && !console.isTTY ? new LineBuffer(console) : undefined;
  const consoleStream: DestinationStream = consoleBuffer
    ? consoleBuffer
    : prettyConsole
      ? pretty({
          colorize: true,
          singleLine: true,
          translateTime: 'SYS:HH:MM:ss.l',
          messageFormat: '{if role}{role}: {end}{if orderId}[{orderId}] {end}{msg}',
          ignore: 'pid,hostname,role,orderId',
          destination: console,
        })
      : (console as DestinationStream);
  const files: Array<{ flushSync(): void; close(): Promise<void>; ready: Promise<void> }> = [];
  if (options.logDir) mkdirSync(options.logDir, { recursive: true, mode: 0o700 });
  const consoleLevel = options.level === 'silent' ? undefined : options.level;
  const fileLevel = lowest(consoleLevel ?? 'info', 'info');
  let orderLogSink: OrderLogSink | undefined;
  // Every role logger has this stream from the start; a sink attached later receives its lines.
  const orderLogStream: DestinationStream = { write: (line: string) => orderLogSink?.write(line) };

  const build = (role: string | undefined): Logger => {
    const streams: StreamEntry[] = consoleLevel ? [{ level: consoleLevel, stream: consoleStream }] : [];
    if (role && options.logDir) {
      const file = rollingFile(options.logDir, role, options.files ?? DEFAULT_FILES);
      files.push(file);
      // For operators: info and above whatever the console shows, and debug when asked for
      // (every debug line written cost a tenth of the shop's time under load).
      streams.push({ level: fileLevel, stream: file });
    }
    // Published lines are info and above whatever --log-level says: the web app shows them on any host.
    if (role) streams.push({ level: 'info', stream: orderLogStream });
    if (streams.length === 0) return pino({ level: 'silent' });
    return pino(
      {
        level: role && options.logDir ? fileLevel : lowest(consoleLevel ?? 'info', role ? 'info' : 'fatal'),
        base: role ? { role } : {},
        timestamp: pino.stdTimeFunctions.epochTime,
      },
      pino.multistream(streams),
    );
  };
  // The sink's own warnings go to the console alone: through a role logger they could feed back into it.
  const consoleOnly = pino(
    {
      level: consoleLevel ?? 'silent',
      base: { component: ORDER_LOGS_COMPONENT },
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    consoleStream,
  );

  const root = build(undefined);
  const roles = new Map<string, Logger>();
  return {
    root,
    forRole(role) {
      let logger = roles.get(role);
      if (!logger) {
        logger = build(role);
        roles.set(role, logger);
      }
      return logger;
    },
    attachOrderLogSink(publish, sinkOptions = {}) {
      const sink: OrderLogSink = new OrderLogSink({
        ...sinkOptions,
        publish,
        warn: (fields, message) => consoleOnly.warn(fields, message),
        onClose: () => {
          if (orderLogSink === sink) orderLogSink = undefined;
        },
      });
      orderLogSink = sink;
      return sink;
    },
    async settled() {
      await Promise.all(files.map((file) => file.ready));
    },
    async close() {
      consoleBuffer?.flush();
      await Promise.all(files.splice(0).map((file) => file.close()));
    },
    flush() {
      consoleBuffer?.flush();
      for (const file of files) {
        try {
          file.flushSync();
        } catch {
          // Not yet open, or already closed: nothing buffered to lose.
        }
      }
    },
  };
}
