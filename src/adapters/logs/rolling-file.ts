import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import pinoRoll from 'pino-roll';
import { LineBuffer, type LineBufferOptions } from './line-buffer.js';

export interface RollingFileOptions {
  /** Roll over to a new file when this one reaches this size: a number of MB, or `500k`, `10m`, `1g`. */
  maxSize: string;
  /** Rolled files kept besides the one being written; older ones are deleted. */
  keep: number;
  /** How lines wait to be written together (see LineBuffer). */
  buffer?: LineBufferOptions;
}

/** What waits in memory for the file to open; beyond it lines are dropped (the console has them). */
const MAX_WAITING_CHARS = 2_000_000;

/** Where a role's current log file is: a link that always points at the file being written. */
export function currentLogFile(logDir: string, role: string): string {
  return join(logDir, role, 'current.log');
}

interface RollStream extends DestinationStream {
  flushSync(): void;
  end(): void;
  /** The open file, -1 until SonicBoom has opened it. */
  fd: number;
  once(event: 'ready' | 'close', listener: () => void): void;
}

/**
 * A role's JSON log, rolled by size with pino-roll: `<logDir>/<role>/<role>.N.log`,
 * at most `keep` old files, and `current.log` linking to the newest. The
 * roll stream opens asynchronously; lines written before it is ready wait in
 * memory, so a logger can be made synchronously. Lines are written a few
 * kilobytes at a time (LineBuffer): `flushSync` before the process exits.
 */
export function rollingFile(
  logDir: string,
  role: string,
  options: RollingFileOptions,
): DestinationStream & {
  flushSync(): void;
  close(): Promise<void>;
  ready: Promise<void>;
} {
  const dir = join(logDir, role);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let stream: RollStream | undefined;
  let waiting: string[] = [];
  let waitingChars = 0;
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
      for (const chunk of waiting) opened.write(chunk);
      waiting = [];
      waitingChars = 0;
    },
    (error: unknown) => {
      // The directory went away or is not writable: the console still has every line.
      waiting = [];
      waitingChars = 0;
      process.emitWarning(`pizza: cannot write ${join(dir, role)} log files: ${String(error)}`);
    },
  );
  const buffer = new LineBuffer(
    {
      write(chunk: string) {
        if (stream) stream.write(chunk);
        else if (waitingChars < MAX_WAITING_CHARS) {
          waiting.push(chunk);
          waitingChars += chunk.length;
        }
      },
    },
    options.buffer,
  );
  return {
    ready,
    write: (line: string) => buffer.write(line),
    flushSync() {
      buffer.flush();
      stream?.flushSync();
    },
    /** Writes out what is buffered and closes the file, a roll under way included. */
    async close() {
      await ready;
      buffer.flush();
      const open = stream;
      stream = undefined;
      if (!open) return;
      await new Promise<void>((resolve) => {
        open.once('close', resolve);
        open.end();
      });
    },
  };
}
