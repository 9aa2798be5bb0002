/**
 * What the Kafka jars, the Flink SQL runner and the Schema Registry share: a directory under
 * the tool cache filled once (by Maven, mostly) and kept while its inputs are the same.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const MARKER_FILE = '.complete';

export interface CommandResult {
  code: number | null;
  /** stdout and stderr together, as they came. */
  output: string;
}

/** Runs a command to completion and returns its exit code and combined output. */
export function runCommand(command: string, args: string[], cwd?: string): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: string): void => {
      output += chunk;
    };
    child.stdout.setEncoding('utf8').on('data', collect);
    child.stderr.setEncoding('utf8').on('data', collect);
    child.on('error', (error) => reject(new Error(`could not run ${command}: ${error.message}`)));
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}

export function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** `mvn -q -B` with the given arguments; a failure names what it was for, with Maven's last lines. */
export async function runMaven(args: string[], what: string): Promise<void> {
  const result = await runCommand('mvn', ['-q', '-B', ...args]);
  if (result.code !== 0) {
    throw new Error(`mvn could not ${what} (exit ${result.code}):\n${lastLines(result.output, 40)}`);
  }
}

/** The sha256 of a file, as the inputs hash of a directory a pom.xml fills. */
export async function fileHash(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

export interface CachedDirOptions {
  /** The tool's cache directory; the result is `<cacheDir>/<name>`. */
  cacheDir: string;
  name: string;
  /** Stands for the inputs (a pom.xml's hash, say): a directory filled from other inputs is filled again. */
  inputsHash: string;
  /** Fills the staging directory, and throws if what it made is not whole. */
  fill(stagingDir: string): Promise<void>;
  /** A file that must be there besides the marker, for a directory that could be half emptied. */
  mustHave?: string;
}

/**
 * `<cacheDir>/<name>`, filled once for these inputs. It is filled in a staging directory
 * beside it and renamed into place with a marker holding the inputs' hash, so a concurrent
 * run (another test project's setup, install.sh) never sees a half-filled directory.
 */
export async function ensureCachedDir(options: CachedDirOptions): Promise<string> {
  const dir = join(options.cacheDir, options.name);
  const isComplete = async (): Promise<boolean> => {
    try {
      const marker = (await readFile(join(dir, MARKER_FILE), 'utf8')).trim();
      if (marker !== options.inputsHash) return false;
      if (options.mustHave) await access(join(dir, options.mustHave));
      return true;
    } catch {
      return false;
    }
  };
  if (await isComplete()) return dir;

  await mkdir(options.cacheDir, { recursive: true });
  const stagingDir = await mkdtemp(join(options.cacheDir, `${options.name}.staging-`));
  try {
    await options.fill(stagingDir);
    await writeFile(join(stagingDir, MARKER_FILE), `${options.inputsHash}\n`);
    await chmod(stagingDir, 0o755); // mkdtemp's 0700 would hide the cache from other users.
    if (await isComplete()) return dir; // Another process finished first.
    await rm(dir, { recursive: true, force: true });
    try {
      await rename(stagingDir, dir);
    } catch (error) {
      if (!(await isComplete())) throw error; // Otherwise another process renamed its copy in between.
    }
    return dir;
  } finally {
    await rm(stagingDir, { recursive: true, force: true });
  }
}
