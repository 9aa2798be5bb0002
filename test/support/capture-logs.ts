import pino from 'pino';
import type { LoggerFactory } from '../../src/adapters/logs/logger.js';

export interface LogLine {
  role?: string;
  msg?: string;
  orderId?: string;
  [field: string]: unknown;
}

/** Loggers that keep every line in memory, for tests that check what a role said it did. */
export function capturingLogs(): LoggerFactory & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) };
  const build = (role?: string) => pino({ level: 'debug', base: role ? { role } : {} }, destination);
  const root = build();
  const roles = new Map<string, pino.Logger>();
  return {
    lines,
    root,
    forRole(role) {
      let logger = roles.get(role);
      if (!logger) {
        logger = build(role);
        roles.set(role, logger);
      }
      return logger;
    },
    flush: () => {},
  };
}
