import { open } from 'node:fs/promises';
import { logFilePath } from './logger.js';
import type { LogLine } from './order-log-line.js';

/** How much of a log file's end is scanned for one order's lines. */
const TAIL_BYTES = 1024 * 1024;

/**
 * Reads one role's log lines about one order from the role's file on this
 * host. Only roles on this host are seen: the web app's pages read the order
 * log store (fed by the log topic) instead.
 */
export async function readOrderLog(logDir: string, role: string, orderId: string, limit = 200): Promise<LogLine[]> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(logFilePath(logDir, role), 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const needle = `"orderId":"${orderId}"`;
    const lines: LogLine[] = [];
    for (const text of buffer.toString('utf8').split('\n')) {
      if (!text.includes(needle)) continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        // A line cut by the tail window, or being written right now.
      }
    }
    return lines.slice(-limit);
  } finally {
    await handle.close();
  }
}
