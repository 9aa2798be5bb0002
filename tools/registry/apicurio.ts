/**
 * Starts a real Schema Registry, Apicurio Registry 2.6.13, as a plain Java process, for the
 * test suite and for local runs. Its Confluent-compatible API, `/apis/ccompat/v7`, is what
 * pizza and Flink talk to (Confluent's own registry is not on Maven Central).
 *
 * The distribution (a tar.gz of about 140 MB) comes from Maven Central through
 * tools/registry/pom.xml and is unpacked once into `<repo>/.cache/registry/app` (or
 * `$PIZZA_CACHE_DIR/registry/app`). Needs `java` (17+) and, on the first run, `mvn`.
 * Storage is in-memory H2: nothing survives a restart.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pRetry, { AbortError } from 'p-retry';
import { ensureCachedDir, fileHash, lastLines, runCommand, runMaven } from '../cached-build.js';
import { eachLine, freePorts, javaCommand, LineTail, superviseJvm, toolCacheDir, trackJvm } from '../jvm.js';

const toolDir = dirname(fileURLToPath(import.meta.url));
const pomFile = join(toolDir, 'pom.xml');

export const APICURIO_VERSION = '2.6.13.Final';
const RUNNER_JAR = `apicurio-registry-app-${APICURIO_VERSION}-runner.jar`;
const READY_TIMEOUT_MS = 90_000;
const READY_POLL_MS = 200;
const STOP_GRACE_MS = 10_000;
// 256 MB of heap is plenty for a registry of a few hundred schemas. C1 only and the serial
// collector, as for the test broker: it starts on less CPU, which the 2-core CI machine shares.
const JVM_OPTS = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:+ExitOnOutOfMemoryError'];

/**
 * Confluent's default level, set as the registry-wide rule at start: Apicurio has none, and
 * a registry with no rule accepts anything, which would hide a subject that was never given
 * its own level. `pizza schemas:check` sets FULL per subject over it.
 */
export const GLOBAL_COMPATIBILITY = 'BACKWARD';

export interface SchemaRegistry {
  /** The Confluent-compatible API: `http://127.0.0.1:PORT/apis/ccompat/v7`, for `[schema-registry] url`. */
  url: string;
  port: number;
  /** The JVM's process id. */
  pid: number;
  /** Settles when the Java process exits, with its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** The registry's last output lines, for an error message. */
  outputTail(): string;
  /** SIGTERM, then SIGKILL after 10 s. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartSchemaRegistryOptions {
  /** The HTTP port; a free one when omitted. */
  port?: number;
  /** Where the distribution is cached; `<repo>/.cache/registry` by default. */
  cacheDir?: string;
  /** Receives the launcher's progress lines and everything the JVM prints. */
  log?: (line: string) => void;
}

/**
 * Makes sure the unpacked distribution is in `<cacheDir>/app` and returns that directory.
 * Maven runs only when the marker file is missing or was written for another pom.xml.
 */
export async function ensureApicurio(cacheDir: string = toolCacheDir('registry')): Promise<string> {
  return ensureCachedDir({
    cacheDir,
    name: 'app',
    inputsHash: await fileHash(pomFile),
    mustHave: RUNNER_JAR,
    async fill(stagingDir) {
      await runMaven(
        ['-f', pomFile, 'dependency:copy-dependencies', `-DoutputDirectory=${stagingDir}`],
        `fetch Apicurio Registry ${APICURIO_VERSION}`,
      );
      const archive = (await readdir(stagingDir)).find((name) => name.endsWith('.tar.gz'));
      if (!archive) throw new Error(`mvn finished but ${stagingDir} holds no tar.gz`);
      const unpacked = await runCommand('tar', ['-xzf', archive], stagingDir);
      if (unpacked.code !== 0) throw new Error(`could not unpack ${archive}:\n${lastLines(unpacked.output, 20)}`);
      await rm(join(stagingDir, archive));
      if (!existsSync(join(stagingDir, RUNNER_JAR))) throw new Error(`${archive} holds no ${RUNNER_JAR}`);
    },
  });
}

/** One request to the registry's Confluent-compatible API; throws on a non-2xx answer. */
async function ccompat(url: string, path: string, init: RequestInit = {}): Promise<unknown> {
  const response = await fetch(`${url}${path}`, {
    ...init,
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json', ...init.headers },
    signal: AbortSignal.timeout(2_000),
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path} answered ${response.status}: ${body}`);
  return body ? JSON.parse(body) : undefined;
}

export async function startSchemaRegistry(options: StartSchemaRegistryOptions = {}): Promise<SchemaRegistry> {
  const log = options.log ?? (() => {});
  const appDir = await ensureApicurio(options.cacheDir ?? toolCacheDir('registry'));
  const port = options.port ?? (await freePorts(1))[0] ?? 0;
  const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  // Quarkus writes a few files relative to its working directory; keep them out of the cache.
  const workDir = await mkdtemp(join(tmpdir(), 'pizza-registry-'));

  log(`schema-registry: starting Apicurio Registry ${APICURIO_VERSION} on 127.0.0.1:${port}`);
  const child = spawn(
    javaCommand(),
    [...JVM_OPTS, `-Dquarkus.http.port=${port}`, '-Dquarkus.http.host=127.0.0.1', '-jar', join(appDir, RUNNER_JAR)],
    { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  trackJvm(child, workDir);
  const output = new LineTail(50);
  eachLine(child, (line) => {
    output.push(line);
    log(line);
  });
  const jvm = superviseJvm(child, {
    output,
    graceMs: STOP_GRACE_MS,
    onKill: () => log('schema-registry: did not stop in time, killing it'),
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await jvm.terminate();
      await rm(workDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  let exitedEarly = false;
  try {
    await pRetry(
      async () => {
        if (!jvm.running()) {
          exitedEarly = true;
          throw new AbortError(
            `Apicurio Registry exited with code ${await jvm.exited} before it answered.\n--- output ---\n${output.toString()}`,
          );
        }
        await ccompat(url, '/subjects');
      },
      { retries: Number.POSITIVE_INFINITY, factor: 1, minTimeout: READY_POLL_MS, maxRetryTime: READY_TIMEOUT_MS },
    );
    await ccompat(url, '/config', { method: 'PUT', body: JSON.stringify({ compatibility: GLOBAL_COMPATIBILITY }) });
  } catch (error) {
    const failure = exitedEarly
      ? error
      : new Error(
          `Apicurio Registry did not answer within ${READY_TIMEOUT_MS / 1000} s (last error: ${String(error)}).\n` +
            `--- output ---\n${output.toString()}`,
        );
    await stop();
    throw failure;
  }
  log(`schema-registry: ready at ${url}`);
  return {
    url,
    port,
    pid: child.pid ?? -1,
    exited: jvm.exited,
    outputTail: () => output.toString(),
    stop,
  };
}
