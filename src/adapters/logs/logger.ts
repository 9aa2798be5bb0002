import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type DestinationStream, type Logger, type StreamEntry } from 'pino';
import pretty from 'pino-pretty';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LoggerFactoryOptions {
  level: LogLevel;
  /** Each role also writes JSON lines to `<logDir>/<role>.log`; undefined writes no files. */
  logDir: string | undefined;
  /** Where the human-facing lines go; pretty when it is a terminal. */
  console?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface LoggerFactory {
  /** The process-wide logger, for the CLI and the things no role owns. */
  root: Logger;
  /** A logger whose lines carry `role` and also land in that role's file. */
  forRole(role: string): Logger;
  /** Writes out buffered lines; call before exit. */
  flush(): void;
}

export function logFilePath(logDir: string, role: string): string {
  return join(logDir, `${role}.log`);
}

export function createLoggerFactory(options: LoggerFactoryOptions): LoggerFactory {
  const console = options.console ?? process.stdout;
  const consoleStream: DestinationStream = console.isTTY
    ? pretty({
        colorize: true,
        singleLine: true,
        translateTime: 'SYS:HH:MM:ss.l',
        messageFormat: '{if role}{role}: {end}{if orderId}[{orderId}] {end}{msg}',
        ignore: 'pid,hostname,role,orderId',
        destination: console,
      })
    : (console as DestinationStream);
  const files: Array<ReturnType<typeof pino.destination>> = [];
  if (options.logDir) mkdirSync(options.logDir, { recursive: true });

  const build = (role: string | undefined): Logger => {
    const streams: StreamEntry[] = [
      { level: options.level === 'silent' ? 'fatal' : options.level, stream: consoleStream },
    ];
    if (role && options.logDir) {
      const file = pino.destination({ dest: logFilePath(options.logDir, role), append: true, sync: false });
      files.push(file);
      // The web app reads these files to show a service's lines for one order.
      streams.push({ level: 'debug', stream: file });
    }
    return pino(
      {
        level: options.level === 'silent' ? 'silent' : 'debug',
        base: role ? { role } : {},
        timestamp: pino.stdTimeFunctions.epochTime,
      },
      pino.multistream(streams),
    );
  };

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
    flush() {
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
