/**
 * Starts the Flink SQL runner: one JVM (tools/flink/src/main/java/pizza/flink/SqlServer.java)
 * that runs Flink SQL scripts on real Apache Flink 2.x mini-cluster, for tests and local runs.
 * Scripts are sent to it over HTTP (./client.ts), so the test suite shares one JVM.
 *
 * The runner is built with Maven from tools/flink/pom.xml into `<repo>/.cache/flink/runner`
 * (or `$PIZZA_CACHE_DIR/flink/runner`) and rebuilt only when pom.xml or the Java sources
 * change. Needs `java` (17+) and, for the build, `mvn` on the PATH (or JAVA_HOME set).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCachedDir, runMaven } from '../cached-build.js';
import { eachLine, javaCommand, LineTail, superviseJvm, toolCacheDir, trackJvm } from '../jvm.js';
import type { FlinkSqlRunnerAddress } from './client.js';

const toolDir = dirname(fileURLToPath(import.meta.url));
const pomFile = join(toolDir, 'pom.xml');
const sourceDir = join(toolDir, 'src');

const MAIN_CLASS = 'pizza.flink.SqlServer';
const OUTPUT_TAG = 'PIZZA-FLINK ';
const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const KEPT_LOG_FILES = 20;

/** What Flink's distribution puts in `env.java.opts.all` (config.yaml) for Java 17. */
export const FLINK_JAVA17_FLAGS: readonly string[] = [
  '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED',
  '--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.net=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens=java.base/java.text=ALL-UNNAMED',
  '--add-opens=java.base/java.time=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED',
];
// C1 only (TieredStopAtLevel=1): starts the planner and mini-cluster 1-2 s faster, and the
// small jobs this runs never need C2's peak throughput.
const JVM_FLAGS = ['-Xms256m', '-Xmx1g', '-XX:+ExitOnOutOfMemoryError', '-XX:TieredStopAtLevel=1'];

export interface StartFlinkSqlRunnerOptions {
  cacheDir?: string;
  /** Receives the launcher's progress lines and the runner's own PIZZA-FLINK lines. */
  log?: (line: string) => void;
  /** Where the JVM's stdout and stderr go; `<cacheDir>/logs/<time>-<pid>.log` by default. */
  logFile?: string;
  /** How long to wait for the JVM to listen (the Maven build before it is not counted). */
  startTimeoutMs?: number;
}

/** A running SqlServer JVM: scripts go to it through ./client.ts; each one's jobs run until cancelled. */
export interface FlinkSqlRunner extends FlinkSqlRunnerAddress {
  /** The JVM's full output (Flink logs included). Kept after stop(). */
  logFile: string;
  /** Settles when the JVM exits, with its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Kills the JVM, and with it every job: SIGTERM, then SIGKILL after 10 s. Safe to call more than once. */
  stop(): Promise<void>;
}

async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files.sort();
}

/** sha256 over pom.xml and every file under src/, with their relative paths. */
async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of [pomFile, ...(await listFiles(sourceDir))]) {
    hash
      .update(relative(toolDir, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  return hash.digest('hex');
}

function runnerClasspath(buildDir: string): string {
  return [join(buildDir, 'classes'), join(buildDir, 'lib', '*')].join(delimiter);
}

/**
 * Builds the SQL runner into `<cacheDir>/runner` unless a build of the same pom.xml and
 * sources is already there, and returns the Java classpath to run it with.
 */
export async function ensureFlinkRunner(cacheDir: string = toolCacheDir('flink')): Promise<{ classpath: string }> {
  const buildDir = await ensureCachedDir({
    cacheDir,
    name: 'runner',
    inputsHash: await sourceHash(),
    async fill(stagingDir) {
      await runMaven(['-f', pomFile, 'package', `-Drunner.build.dir=${stagingDir}`], 'build the Flink SQL runner');
      await access(join(stagingDir, 'classes', `${MAIN_CLASS.replaceAll('.', '/')}.class`));
    },
  });
  return { classpath: runnerClasspath(buildDir) };
}

/** Deletes all but the newest `keep` log files (their names start with a sortable time). */
async function pruneLogs(logDir: string, keep: number): Promise<void> {
  const names = (await readdir(logDir)).filter((name) => name.endsWith('.log')).sort();
  await Promise.all(names.slice(0, -keep).map((name) => unlink(join(logDir, name)).catch(() => {})));
}

/**
 * Starts the Flink SQL runner (SqlServer.java): one JVM that runs every script sent to it, each
 * job on its own mini-cluster. Resolves once it listens; it loads the planner in the background.
 * Rejects (with the last lines of output) if the JVM exits or the timeout passes first.
 */
export async function startFlinkSqlRunner(options: StartFlinkSqlRunnerOptions = {}): Promise<FlinkSqlRunner> {
  const log = options.log ?? (() => {});
  const cacheDir = options.cacheDir ?? toolCacheDir('flink');
  const { classpath } = await ensureFlinkRunner(cacheDir);

  let logFile = options.logFile;
  if (logFile === undefined) {
    const logDir = join(cacheDir, 'logs');
    await mkdir(logDir, { recursive: true });
    await pruneLogs(logDir, KEPT_LOG_FILES - 1);
    logFile = join(logDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
  }
  // Flink's blob store and RocksDB/spill files land in java.io.tmpdir; a SIGKILL skips
  // Flink's own cleanup, so they get a private directory that stop() removes.
  const tempDir = await mkdtemp(join(tmpdir(), 'pizza-flink-'));
  const logStream = createWriteStream(logFile);

  const args = [...JVM_FLAGS, ...FLINK_JAVA17_FLAGS, `-Djava.io.tmpdir=${tempDir}`, '-cp', classpath, MAIN_CLASS];
  log(`flink: starting the SQL runner, log ${logFile}`);
  const child = spawn(javaCommand(), args, { cwd: tempDir, stdio: ['pipe', 'pipe', 'pipe'] });
  trackJvm(child, tempDir);
  // On stdin, not in argv or the environment, where other users could read it.
  const token = randomBytes(24).toString('hex');
  child.stdin.on('error', () => {}); // a JVM that failed to start closed it; `exited` says why
  child.stdin.end(`${token}\n`);

  const output = new LineTail(40);
  let markListening: (port: number) => void = () => {};
  const listening = new Promise<number>((done) => {
    markListening = done;
  });
  eachLine(
    child,
    (line) => {
      output.push(line);
      if (!line.startsWith(OUTPUT_TAG)) return;
      log(`flink: ${line.slice(OUTPUT_TAG.length)}`);
      const serving = /^PIZZA-FLINK serving on port (\d+)/.exec(line);
      if (serving?.[1]) markListening(Number(serving[1]));
    },
    (chunk) => logStream.write(chunk),
  );

  const jvm = superviseJvm(child, {
    output,
    graceMs: STOP_GRACE_MS,
    exitEvent: 'close',
    onKill: () => log('flink: JVM did not stop in time, killing it'),
  });
  const { exited } = jvm;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await jvm.terminate();
      await new Promise<void>((done) => logStream.end(done));
      await rm(tempDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    listening,
    exited.then(() => 'exited' as const),
    new Promise<'timeout'>((done) => {
      timer = setTimeout(() => done('timeout'), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (typeof outcome === 'number') return { url: `http://127.0.0.1:${outcome}`, token, logFile, exited, stop };

  const reason =
    outcome === 'exited'
      ? `Flink SQL runner exited with code ${await exited} before it listened`
      : `Flink SQL runner did not listen within ${timeoutMs} ms`;
  await stop();
  throw new Error(`${reason} (full log: ${logFile}).\n--- last output ---\n${output.toString()}`);
}
