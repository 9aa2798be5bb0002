import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import pinoRoll from 'pino-roll';

export interface RollingFileOptions {
  /** Roll over to a new file when this one reaches this size: a number of MB, or `500k`, `10m`, `1g`. */
  maxSize: string;
  /** Rolled files kept besides the one being written; older ones are deleted. */
  keep: number;
}

/** Where a role's current log file is: a link that always points at the file being written. */
export function currentLogFile(logDir: string, role: string): string {
  return join(logDir, role, 'current.log');
}

interface RollStream extends DestinationStream {
  flushSync(): void;
  end(): void;
  /** The open file, -1 until SonicBoom has opened it. */
  fd: number;
  once(event: 'ready', listener: () => void): void;
}

/**
 * A role's JSON log, rolled by size with pino-roll: `<logDir>/<role>/<role>.N.log`,
 * at most `keep` old files, and `current.log` linking to the newest. The
 * roll stream opens asynchronously; lines written before it is ready wait in
 * memory, so a logger can be made synchronously.
 */
export function rollingFile(
  logDir: string,
  role: string,
  options: RollingFileOptions,
): DestinationStream & {
  flushSync(): void;
  ready: Promise<void>;
} {
  const dir = join(logDir, role);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let stream: RollStream | undefined;
  let waiting: string[] = [];
  const ready = (
    pinoRoll({
      file: join(dir, role),
      extension: '.log',
      size: options.maxSize,
      limit: { count: options.keep },
      symlink: true,
      mkdir: true,
    }) as Promise<RollStream>
  ).then(
    async (opened) => {
      if (opened.fd < 0) await new Promise<void>((resolve) => opened.once('ready', resolve));
      stream = opened;
      for (const line of waiting) opened.write(line);
      waiting = [];
    },
    (error: unknown) => {
      // The directory went away or is not writable: the console still has every line.
      waiting = [];
      process.emitWarning(`pizza: cannot write ${join(dir, role)} log files: ${String(error)}`);
    },
  );
  return {
    ready,
    write(line: string) {
      if (stream) stream.write(line);
      else if (waiting.length < 10_000) waiting.push(line);
    },
    flushSync() {
      stream?.flushSync();
    },
  };
}
