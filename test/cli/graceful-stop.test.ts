import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';

/**
 * A process that registers the stop signals as a pizza command does, and
 * whose stop takes `stopMs`; it prints what happens, one word a line.
 */
const SCRIPT = `
const { gracefulStop } = await import('./src/cli/graceful-stop.ts');
const { stopMs, timeoutMs, crash } = JSON.parse(process.argv[1]);
const log = { info: (_, message) => console.log('info:', message), error: (_, message) => console.log('error:', message) };
const stopping = gracefulStop({ log, timeoutMs, beforeExit: () => console.log('flushed') }, async () => {
  console.log('stop begins, aborted', stopping.signal.aborted);
  // The stop's own work, as long as the test says: not a wait for anything.
  await new Promise((resolve) => setTimeout(resolve, stopMs));
  console.log('stop ends');
});
setInterval(() => {}, 1000);
console.log('ready');
if (crash) setTimeout(() => { throw new Error('boom'); }, 10);
`;

interface Run {
  code: number | null;
  lines: string[];
}

function run(
  options: { stopMs: number; timeoutMs: number; crash?: boolean },
  signals: NodeJS.Signals[],
  { underNohup = false } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', SCRIPT, JSON.stringify(options)];
    // nohup starts the process with SIGHUP ignored, as a shop left running after its terminal closes (Node resets it).
    const [command = '', ...args] = underNohup ? ['nohup', ...node] : node;
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let sent = 0;
    // Each signal goes once the process shows it is ready for it: the first once it listens for
    // signals, each next one once the stop has begun, so that it lands during the stop.
    const readyFor = (index: number) => (index === 0 ? 'ready' : 'stop begins');
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      while (sent < signals.length && output.includes(readyFor(sent))) child.kill(signals[sent++]);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, lines: output.trim().split('\n') }));
  });
}

describe('the graceful stop', () => {
  it('runs the stop on the first SIGTERM, to its end, then exits 0', async () => {
    const { code, lines } = await run({ stopMs: 200, timeoutMs: 5_000 }, ['SIGTERM']);
    expect(lines).toEqual(['ready', 'info: SIGTERM: stopping', 'stop begins, aborted true', 'stop ends', 'flushed']);
    expect(code).toBe(0);
  });

  it('exits 1 at once on a second signal during the stop', async () => {
    const { code, lines } = await run({ stopMs: 5_000, timeoutMs: 10_000 }, ['SIGINT', 'SIGINT']);
    expect(lines).toContain('error: second SIGINT: exiting without finishing the stop');
    expect(lines).not.toContain('stop ends');
    expect(lines.at(-1)).toBe('flushed');
    expect(code).toBe(1);
  });

  it('exits 1 when the stop outlasts the timeout, and says so', async () => {
    const { code, lines } = await run({ stopMs: 5_000, timeoutMs: 300 }, ['SIGTERM']);
    expect(lines).toContain('error: the stop took longer than 0.3 s: exiting without finishing it');
    expect(lines).not.toContain('stop ends');
    expect(code).toBe(1);
  });

  it('stops on an uncaught error too, says so, and exits 1', async () => {
    const { code, lines } = await run({ stopMs: 50, timeoutMs: 5_000, crash: true }, []);
    expect(lines).toContain('error: uncaught error: stopping');
    // On stderr too, whatever the log level: a failure never exits without a word.
    expect(lines).toContain('pizza: uncaught error: stopping');
    expect(lines).toContain('stop ends');
    expect(code).toBe(1);
  });

  it('stops gracefully on SIGHUP, even under nohup (Node resets what nohup ignores, so it would die outright)', async () => {
    const { code, lines } = await run({ stopMs: 50, timeoutMs: 5_000 }, ['SIGHUP'], { underNohup: true });
    const said = lines.filter((line) => !line.startsWith('nohup:'));
    expect(said).toEqual(['ready', 'info: SIGHUP: stopping', 'stop begins, aborted true', 'stop ends', 'flushed']);
    expect(code).toBe(0);
  });
});
