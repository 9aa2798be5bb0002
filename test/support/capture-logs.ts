import { Writable } from 'node:stream';
import { createLoggerFactory, type LoggerFactory } from '../../src/adapters/logs/logger.js';

export interface LogLine {
  role?: string;
  msg?: string;
  orderId?: string;
  [field: string]: unknown;
}

/** The product's loggers, writing every line to memory, for tests that check what a role said it did. */
export function capturingLogs(): LoggerFactory & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const console = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  return { lines, ...createLoggerFactory({ level: 'debug', logDir: undefined, console }) };
}
