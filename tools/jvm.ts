/** What the Kafka, Flink and registry launchers share: where jars are cached, which java, their output, free ports, and cleanup at exit. */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** `<repo>/.cache/<tool>`, or under PIZZA_CACHE_DIR when set. */
export function toolCacheDir(tool: string): string {
  const root = process.env.PIZZA_CACHE_DIR ? resolve(process.env.PIZZA_CACHE_DIR) : join(repoRoot, '.cache');
  return join(root, tool);
}

export function javaCommand(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

// The one module-level registry: JVMs still running when node exits are killed, their temp dirs removed.
const running = new Map<ChildProcess, string>();
process.on('exit', () => {
  for (const [child, tempDir] of running) {
    child.kill('SIGKILL');
    try {
      rmSync(tempDir, { recursive: true, force: true });
    } catch {
      // Best effort: the process is going away anyway.
    }
  }
});

/** Registers a JVM to kill at exit; call `untrack` once it has exited. */
export function trackJvm(child: ChildProcess, tempDir: string): void {
  running.set(child, tempDir);
}

export function untrackJvm(child: ChildProcess): void {
  running.delete(child);
}

/** Keeps the last `limit` lines pushed to it. */
export class LineTail {
  private readonly lines: string[] = [];
  constructor(private readonly limit: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
  }
  toString(): string {
    return this.lines.join('\n');
  }
}

/** Hands each whole line a child writes, to stdout or stderr, to `onLine`; `onChunk` sees the raw text first. */
export function eachLine(child: ChildProcess, onLine: (line: string) => void, onChunk?: (chunk: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      onChunk?.(chunk);
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
  }
}

/** Distinct free TCP ports on 127.0.0.1 (all held open at once so they differ). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolvePromise, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolvePromise(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((done) => server.close(() => done()))));
  return ports;
}

export interface SupervisedJvm {
  /** Settles with the exit code (null when killed by a signal or never started). */
  exited: Promise<number | null>;
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the JVM is gone. */
  terminate(): Promise<void>;
  /** SIGKILL at once, as a crash would: no shutdown hooks run. Resolves once the JVM is gone. */
  kill(): Promise<void>;
}

/**
 * Watches a JVM child until it exits and stops it on request. `close` rather
 * than `exit` is awaited when the caller reads the last of its output.
 */
export function superviseJvm(
  child: ChildProcess,
  options: { output: LineTail; graceMs: number; onKill: () => void; exitEvent?: 'exit' | 'close' },
): SupervisedJvm {
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolveExit) => {
    child.once('error', (error) => {
      options.output.push(`could not start java: ${error.message}`);
      exitCode = null;
      untrackJvm(child);
      resolveExit(null);
    });
    child.once(options.exitEvent ?? 'exit', (code: number | null) => {
      exitCode = code;
      untrackJvm(child);
      resolveExit(code);
    });
  });
  return {
    exited,
    running: () => exitCode === undefined,
    async terminate() {
      if (exitCode === undefined) {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          exited.then(() => false),
          new Promise<boolean>((done) => {
            timer = setTimeout(() => done(true), options.graceMs);
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          options.onKill();
          child.kill('SIGKILL');
          await exited;
        }
      }
      untrackJvm(child);
    },
    async kill() {
      if (exitCode === undefined) {
        child.kill('SIGKILL');
        await exited;
      }
      untrackJvm(child);
    },
  };
}
