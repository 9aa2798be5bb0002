/** What the Kafka and Flink launchers share: where jars are cached, which java, and cleanup at exit. */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
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
