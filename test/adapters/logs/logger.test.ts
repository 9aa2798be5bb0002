import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLoggerFactory, type LogLevel, logFilePath } from '../../../src/adapters/logs/logger.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function consoleLines() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push(JSON.parse(text));
      done();
    },
  });
  return { lines, stream };
}

function factory(level: LogLevel, logDir?: string) {
  const console = consoleLines();
  const logs = createLoggerFactory({ level, logDir, console: console.stream });
  const published: Array<{ orderId: string; value: Record<string, unknown> }> = [];
  const sink = logs.attachOrderLogSink?.(async (_key, value) => {
    const { lines } = JSON.parse(value.toString('utf8')) as { lines: Array<Record<string, unknown>> };
    for (const line of lines) published.push({ orderId: String(line.orderId), value: line });
  });
  if (!sink) throw new Error('the factory publishes order log lines');
  return { logs, console: console.lines, published, sink };
}

describe('the logger factory and the log topic', () => {
  for (const level of ['silent', 'error', 'debug'] as const) {
    it(`publishes a role's info-and-above lines about an order whatever the console level (${level})`, async () => {
      const { logs, published, sink } = factory(level);
      const bake = logs.forRole('bake').child({ orderId: '0000abcd' });
      bake.debug('a detail');
      bake.info({ bakingSeconds: 12 }, 'baking the pizza');
      bake.error({ err: new Error('oven on fire') }, 'baking failed');
      logs.forRole('bake').info('ready');
      logs.root.info({ orderId: '0000abcd' }, 'no role: not a service line');
      await sink.close();
      expect(published.map(({ orderId, value }) => [orderId, value.role, value.msg])).toEqual([
        ['0000abcd', 'bake', 'baking the pizza'],
        ['0000abcd', 'bake', 'baking failed'],
      ]);
      expect(published[1]?.value.err).toBe('oven on fire');
      expect(JSON.stringify(published)).not.toContain('    at ');
    });
  }

  it('keeps the console at its level, and the role file at info, or debug when the level asks for it', async () => {
    for (const [level, expected] of [
      ['warn', ['baking the pizza', 'slow oven']],
      ['debug', ['a detail', 'baking the pizza', 'slow oven']],
    ] as const) {
      const logDir = mkdtempSync(join(tmpdir(), 'pizza-logs-'));
      dirs.push(logDir);
      const { logs, console, sink } = factory(level, logDir);
      const bake = logs.forRole('bake').child({ orderId: '0000abcd' });
      bake.debug('a detail');
      bake.info('baking the pizza');
      bake.warn('slow oven');
      await sink.close();
      await logs.settled?.();
      logs.flush();
      expect(console.map((line) => line.msg)).toEqual(level === 'warn' ? ['slow oven'] : expected);
      const file = readFileSync(logFilePath(logDir, 'bake'), 'utf8').trim().split('\n');
      // Which lines the file keeps at this level; lines written before the file opened wait in
      // memory, and their order against the first written after it is not what this test is about.
      expect(file.map((text) => JSON.parse(text).msg).sort()).toEqual([...expected].sort());
    }
  });

  it('stops publishing once the sink is closed, and warns about lost lines on the console only', async () => {
    const console = consoleLines();
    const logs = createLoggerFactory({ level: 'info', logDir: undefined, console: console.stream });
    let attempts = 0;
    const sink = logs.attachOrderLogSink?.(
      async (_key, value) => {
        attempts += (JSON.parse(value.toString('utf8')) as { lines: unknown[] }).lines.length;
        throw new Error('broker down');
      },
      { lingerMs: 0 },
    );
    const bake = logs.forRole('bake').child({ orderId: '0000abcd' });
    for (let i = 0; i < 5; i += 1) bake.info(`line ${i}`);
    await sink?.close();
    bake.info('after close');
    await new Promise((resolve) => setImmediate(resolve));
    // The warning is no line about an order: it would otherwise be published, fail and warn again.
    expect(attempts).toBe(5); // lines tried
    const warnings = console.lines.filter((line) => line.component === 'order-logs');
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(warnings[0]).toMatchObject({ level: 40, failed: 5 }); // one record of five lines
    expect(sink?.stats()).toMatchObject({ failed: 5, published: 0 });
  });
});

describe('role log files (issue 12)', () => {
  it('roll over by size, keep only the configured number of old files, and current.log follows the newest', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'pizza-roll-'));
    dirs.push(logDir);
    const console = consoleLines();
    const logs = createLoggerFactory({
      level: 'silent',
      logDir,
      console: console.stream,
      files: { maxSize: '4k', keep: 2 },
    });
    const bake = logs.forRole('bake');
    const filler = 'x'.repeat(200);
    const dir = join(logDir, 'bake');
    const numberedFiles = () =>
      readdirSync(dir)
        .filter((name) => /^bake\.\d+\.log$/.test(name))
        .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
    // A file may be removed between the listing and the read: vi.waitFor then reads again.
    const written = () => numberedFiles().map((name) => readFileSync(join(dir, name), 'utf8'));
    await logs.settled?.();
    for (let batch = 0; batch < 10; batch += 1) {
      for (let line = 0; line < 20; line += 1) bake.info({ batch, line, filler }, 'a line');
      // pino-roll looks at the size as the writes land: let a batch land before the next.
      await vi.waitFor(() => expect(written().join('')).toContain(`"batch":${batch},"line":19,`), {
        timeout: 5_000,
        interval: 5,
      });
    }
    // The last roll, and its clean-up of old files, finish in the background.
    await vi.waitFor(
      () => {
        const numbered = numberedFiles();
        // ~45 KB written into 4 KB files: the file being written and at most two rolled ones are left.
        expect(numbered.length).toBe(3);
        expect(Number(numbered[0]?.split('.')[1])).toBeGreaterThan(1);
        // current.log follows the newest file.
        expect(readlinkSync(logFilePath(logDir, 'bake'))).toBe(numbered.at(-1));
        const kept = written().flatMap((text) => text.trim().split('\n').filter(Boolean));
        expect(JSON.parse(kept.at(-1) ?? '{}')).toMatchObject({ batch: 9, line: 19, role: 'bake' });
      },
      { timeout: 5_000 },
    );
    // Closed before the directory is removed: a roll still under way would otherwise link into a
    // directory that is gone (an uncaught ENOENT from pino-roll, seen on a loaded machine).
    await logs.close?.();
  });

  it('writes JSON to the console when asked, even on a terminal', () => {
    const lines: string[] = [];
    const tty = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
      { isTTY: true },
    );
    const logs = createLoggerFactory({ level: 'info', logDir: undefined, console: tty, format: 'json' });
    logs.root.info('hello');
    expect(JSON.parse(lines.join('').trim())).toMatchObject({ msg: 'hello' });
  });
});
