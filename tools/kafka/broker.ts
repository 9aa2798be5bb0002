/**
 * Starts a real Apache Kafka broker (one combined broker+controller in KRaft mode)
 * as a plain Java process, for the test suite and for local runs.
 *
 * The jars come from Maven Central through tools/kafka/pom.xml and are cached in
 * `<repo>/.cache/kafka/lib` (or `$PIZZA_CACHE_DIR/kafka/lib`). Needs `java` (17+)
 * and, on the first run, `mvn` on the PATH (or JAVA_HOME set).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pRetry, { AbortError } from 'p-retry';
import { ensureCachedDir, fileHash, lastLines, runCommand, runMaven } from '../cached-build.js';
import { eachLine, freePorts, javaCommand, LineTail, superviseJvm, toolCacheDir, trackJvm } from '../jvm.js';

export interface KafkaBroker {
  /** Kafka's `node.id`: 1 for a single broker, 1..n in a cluster. */
  nodeId: number;
  /** `127.0.0.1:PORT` of the PLAINTEXT listener. */
  bootstrapServers: string;
  /** The PLAINTEXT listener's port. */
  port: number;
  /** The KRaft controller listener's port. */
  controllerPort: number;
  /**
   * With `proxyListener`: the port the PROXIED listener is bound to (where a proxy forwards to),
   * and the port it advertises (where the proxy listens).
   */
  proxied?: { port: number; advertisedPort: number };
  /** The JVM's process id. */
  pid: number;
  /** Kafka's `log.dirs`: where the broker keeps its topic data and metadata log. */
  logDir: string;
  /** The broker's own log4j log file (removed by stop() along with the temp dir). */
  serverLog: string;
  /** Settles when the Java process exits, with its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
  /**
   * SIGKILLs the JVM, as a crash would: no shutdown, no flush. The data dir is
   * left as the crash left it; `stop()` still removes the temp dir afterwards.
   */
  kill(): Promise<void>;
  /**
   * Starts a new broker on the same data dir and the same ports (clients only
   * know the old address), once this one is gone; kills it first if it still runs.
   * Needs a `dataDir` given at start: a temp one goes away with this broker.
   */
  restart(): Promise<KafkaBroker>;
  /** SIGSTOP: the JVM hangs (a long GC pause, a frozen VM) with its sockets open. */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
}

/**
 * One extra listener, `PROXIED`, bound on a port of its own but advertised on
 * another, a proxy's: a client that bootstraps through the proxy is then told
 * to reach every broker through it too, and a fault in the proxy cuts it off.
 */
export interface ProxyListenerOptions {
  /** The advertised port for the broker at this index (0 for a single broker, 0..n-1 in a cluster). */
  advertisedPort: (nodeIndex: number) => number;
}

/** How a broker replicates: one copy on a single broker, more on a cluster. */
export interface ReplicationOptions {
  /** The internal topics' replication factor (offsets, transaction state, share state). */
  internalReplicationFactor: number;
  /** Their `min.insync.replicas`, and the broker's default for every topic. */
  minInsyncReplicas: number;
  /** Partitions of `__consumer_offsets` and `__transaction_state`. */
  internalPartitions: number;
  /** `default.replication.factor`, for topics created without one. */
  defaultReplicationFactor: number;
}

const SINGLE_BROKER: ReplicationOptions = {
  internalReplicationFactor: 1,
  minInsyncReplicas: 1,
  internalPartitions: 1,
  defaultReplicationFactor: 1,
};

export interface StartKafkaBrokerOptions {
  cacheDir?: string;
  /** Persistent data directory; a fresh one inside the temp dir when omitted. */
  dataDir?: string;
  /** The PLAINTEXT port; a free one when omitted. Fix it to restart where clients look. */
  port?: number;
  /** The controller port; a free one when omitted. */
  controllerPort?: number;
  /** Kafka's `node.id`; 1 when omitted. */
  nodeId?: number;
  /** This broker's index in its cluster, for `proxyListener` (0 when omitted). */
  nodeIndex?: number;
  /** `controller.quorum.voters` of a cluster (`1@127.0.0.1:PORT,...`); this broker alone when omitted. */
  quorumVoters?: string;
  /** The cluster id to format a new data dir with; every broker of a cluster shares one. Random when omitted. */
  clusterId?: string;
  /** Replication settings; one copy of everything when omitted. */
  replication?: ReplicationOptions;
  /** An extra listener advertised on a proxy's port. */
  proxyListener?: ProxyListenerOptions;
  /** The PROXIED listener's own port; a free one when omitted. Fixed by restart(). */
  proxyPort?: number;
  /** More `server.properties` entries, over the defaults. */
  settings?: Record<string, string | number>;
  /** Receives the launcher's progress lines and anything the JVM prints. */
  log?: (line: string) => void;
}

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

const toolDir = dirname(fileURLToPath(import.meta.url));
const pomFile = join(toolDir, 'pom.xml');

const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 200;
const STOP_GRACE_MS = 15_000;
// C1 only and the serial collector: a broker for tests and local runs starts on about 40% less
// CPU (measured on 2 cores: the test suite starts several), and never needs C2's peak throughput.
const JVM_OPTS = ['-Xms256m', '-Xmx512m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

/**
 * Makes sure the Kafka jars are in `<cacheDir>/lib` and returns that directory.
 * Maven runs only when they were fetched for another pom.xml, or never.
 */
export async function ensureKafkaJars(cacheDir: string = toolCacheDir('kafka')): Promise<string> {
  return ensureCachedDir({
    cacheDir,
    name: 'lib',
    inputsHash: await fileHash(pomFile),
    async fill(stagingDir) {
      await runMaven(
        ['-f', pomFile, 'dependency:copy-dependencies', `-DoutputDirectory=${stagingDir}`],
        'fetch the Kafka jars',
      );
      const jars = (await readdir(stagingDir)).filter((name) => name.endsWith('.jar'));
      if (!jars.some((name) => name.startsWith('kafka_2.13-'))) {
        throw new Error(`mvn finished but ${stagingDir} holds no kafka_2.13 jar`);
      }
    },
  });
}

/** Escapes a value for a Java .properties file. */
function propertyValue(value: string): string {
  return value.replace(/\\/g, '\\\\');
}

interface ServerLayout {
  nodeId: number;
  brokerPort: number;
  controllerPort: number;
  quorumVoters: string;
  proxied?: { port: number; advertisedPort: number };
  replication: ReplicationOptions;
  dataDir: string;
  extra: Record<string, string | number>;
}

function serverProperties(layout: ServerLayout): string {
  const { nodeId, brokerPort, controllerPort, proxied, replication: r, dataDir } = layout;
  const proxiedListener = proxied ? `,PROXIED://127.0.0.1:${proxied.port}` : '';
  const proxiedAdvertised = proxied ? `,PROXIED://127.0.0.1:${proxied.advertisedPort}` : '';
  const settings: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': nodeId,
    // A static voter set rather than controller.quorum.bootstrap.servers + --standalone:
    // a dynamic quorum stores the controller's endpoint in the metadata log, which
    // would break a persistent data dir as soon as the (free) port changes.
    'controller.quorum.voters': layout.quorumVoters,
    listeners: `PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}${proxiedListener}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${brokerPort}${proxiedAdvertised}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${proxied ? ',PROXIED:PLAINTEXT' : ''}`,
    'log.dirs': dataDir,
    'num.partitions': 1,
    'default.replication.factor': r.defaultReplicationFactor,
    'min.insync.replicas': r.minInsyncReplicas,
    'offsets.topic.replication.factor': r.internalReplicationFactor,
    'offsets.topic.num.partitions': r.internalPartitions,
    'transaction.state.log.replication.factor': r.internalReplicationFactor,
    'transaction.state.log.min.isr': r.minInsyncReplicas,
    'transaction.state.log.num.partitions': r.internalPartitions,
    'share.coordinator.state.topic.replication.factor': r.internalReplicationFactor,
    'share.coordinator.state.topic.min.isr': r.minInsyncReplicas,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': 'false',
    ...layout.extra,
  };
  return `${Object.entries(settings)
    .map(([key, value]) => `${key}=${propertyValue(String(value))}`)
    .join('\n')}\n`;
}

function log4jProperties(logFile: string): string {
  return `${[
    'status = warn',
    // Kafka logs while it shuts down; log4j's own hook would close the file first.
    'shutdownHook = disable',
    'appender.file.type = File',
    'appender.file.name = file',
    `appender.file.fileName = ${propertyValue(logFile)}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = info',
    'rootLogger.appenderRef.file.ref = file',
    // The request logger and the state-change logger are very chatty at INFO/TRACE.
    'logger.request.name = kafka.request.logger',
    'logger.request.level = warn',
    'logger.statechange.name = state.change.logger',
    'logger.statechange.level = warn',
  ].join('\n')}\n`;
}

async function readTail(file: string, count: number): Promise<string> {
  try {
    return lastLines(await readFile(file, 'utf8'), count);
  } catch {
    return '(no log file)';
  }
}

/** Sends one request frame and resolves with the response body after the correlation id. */
function kafkaRequest(host: string, port: number, request: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)));
    socket.once('error', fail);
    socket.once('close', () => reject(new Error(`${host}:${port} closed the connection`)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (received.length < 4 + size) return;
      socket.destroy();
      resolvePromise(received.subarray(8, 4 + size)); // Skips size and correlation id.
    });
    socket.connect(port, host, () => socket.write(request));
  });
}

/**
 * Asks a broker which API versions it supports with an ApiVersions v0 request,
 * which every Kafka version answers (clients need it before they can negotiate).
 */
export async function requestApiVersions(host: string, port: number, timeoutMs = 2_000): Promise<ApiVersionRange[]> {
  const clientId = Buffer.from('pizza-tools', 'utf8');
  // Request header v1: api_key, api_version, correlation_id, client_id; the v0 body is empty.
  const header = Buffer.alloc(10);
  header.writeInt16BE(18, 0); // ApiVersions
  header.writeInt16BE(0, 2);
  header.writeInt32BE(1, 4);
  header.writeInt16BE(clientId.length, 8);
  const payload = Buffer.concat([header, clientId]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);

  const body = await kafkaRequest(host, port, Buffer.concat([size, payload]), timeoutMs);
  if (body.length < 6) throw new Error(`ApiVersions response too short (${body.length} bytes)`);
  const errorCode = body.readInt16BE(0);
  if (errorCode !== 0) throw new Error(`ApiVersions answered with error code ${errorCode}`);
  const count = body.readInt32BE(2);
  if (count < 0 || body.length < 6 + count * 6) throw new Error('ApiVersions response is malformed');
  return Array.from({ length: count }, (_, index) => {
    const offset = 6 + index * 6;
    return {
      apiKey: body.readInt16BE(offset),
      minVersion: body.readInt16BE(offset + 2),
      maxVersion: body.readInt16BE(offset + 4),
    };
  });
}

/**
 * What `kafka-storage random-uuid` prints, without a JVM to start: Kafka's Uuid, 16 random
 * bytes in URL-safe base64 without padding, never starting with '-' (Uuid.randomUuid()).
 */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-') && id !== 'AAAAAAAAAAAAAAAAAAAAAA' && id !== 'AAAAAAAAAAAAAAAAAAAAAQ') return id;
  }
}

/** Formats `dataDir` for a new cluster, unless an earlier run already did. */
async function formatStorage(
  jvmArgs: string[],
  configFile: string,
  dataDir: string,
  log: (line: string) => void,
  clusterId: string = randomClusterId(),
): Promise<void> {
  // `format --ignore-formatted` would still reject a new cluster id, so reuse is decided here.
  if (existsSync(join(dataDir, 'meta.properties'))) {
    log(`kafka: reusing the formatted data directory ${dataDir}`);
    return;
  }
  const format = await runCommand(javaCommand(), [
    ...jvmArgs,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    configFile,
  ]);
  if (format.code !== 0) throw new Error(`StorageTool format failed:\n${lastLines(format.output, 20)}`);
  log(`kafka: ${lastLines(format.output, 1)}`);
}

export async function startKafkaBroker(options: StartKafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const log = options.log ?? (() => {});
  const libDir = await ensureKafkaJars(options.cacheDir ?? toolCacheDir('kafka'));
  const classpath = join(libDir, '*');

  const tempDir = await mkdtemp(join(tmpdir(), 'pizza-kafka-'));
  const dataDir = options.dataDir ? resolve(options.dataDir) : join(tempDir, 'data');
  const configFile = join(tempDir, 'server.properties');
  const log4jFile = join(tempDir, 'log4j2.properties');
  const serverLog = join(tempDir, 'server.log');
  const jvmArgs = [
    ...JVM_OPTS,
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
    '-cp',
    classpath,
  ];
  const nodeId = options.nodeId ?? 1;
  let brokerPort: number;
  let controllerPort: number;
  let proxied: { port: number; advertisedPort: number } | undefined;
  try {
    // A free port that happens to equal a fixed one must not be used twice.
    const fixed = [options.port, options.controllerPort, options.proxyPort];
    const free = (await freePorts(3)).filter((port) => !fixed.includes(port));
    const pickedBroker = options.port ?? free.shift();
    const pickedController = options.controllerPort ?? free.shift();
    const pickedProxy = options.proxyPort ?? free.shift();
    if (pickedBroker === undefined || pickedController === undefined || pickedProxy === undefined) {
      throw new Error('could not pick free ports');
    }
    [brokerPort, controllerPort] = [pickedBroker, pickedController];
    if (options.proxyListener) {
      proxied = { port: pickedProxy, advertisedPort: options.proxyListener.advertisedPort(options.nodeIndex ?? 0) };
    }
    await mkdir(dataDir, { recursive: true });
    const layout: ServerLayout = {
      nodeId,
      brokerPort,
      controllerPort,
      quorumVoters: options.quorumVoters ?? `${nodeId}@127.0.0.1:${controllerPort}`,
      proxied,
      replication: options.replication ?? SINGLE_BROKER,
      dataDir,
      extra: options.settings ?? {},
    };
    await writeFile(configFile, serverProperties(layout));
    await writeFile(log4jFile, log4jProperties(serverLog));
    await formatStorage(jvmArgs, configFile, dataDir, log, options.clusterId);
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }

  log(
    `kafka: starting broker ${nodeId} on 127.0.0.1:${brokerPort} (controller ${controllerPort}` +
      `${proxied ? `, proxied ${proxied.port} advertised as ${proxied.advertisedPort}` : ''}), log ${serverLog}`,
  );
  const child = spawn(javaCommand(), [...jvmArgs, '-XX:+ExitOnOutOfMemoryError', 'kafka.Kafka', configFile], {
    cwd: tempDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackJvm(child, tempDir);
  const output = new LineTail(50);
  eachLine(child, (line) => {
    output.push(line);
    log(line);
  });
  const jvm = superviseJvm(child, {
    output,
    graceMs: STOP_GRACE_MS,
    onKill: () => log('kafka: broker did not stop in time, killing it'),
  });
  const { exited } = jvm;

  let paused = false;
  const signal = (name: NodeJS.Signals): void => {
    if (jvm.running()) child.kill(name);
  };
  const pause = (): void => {
    log(`kafka: pausing broker ${nodeId} (SIGSTOP)`);
    signal('SIGSTOP');
    paused = true;
  };
  const resume = (): void => {
    log(`kafka: resuming broker ${nodeId} (SIGCONT)`);
    signal('SIGCONT');
    paused = false;
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // A stopped JVM would sit on SIGTERM until the grace ran out.
      if (paused) resume();
      await jvm.terminate();
      await rm(tempDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const kill = async (): Promise<void> => {
    log(`kafka: killing broker ${nodeId} (SIGKILL)`);
    await jvm.kill();
  };
  const restart = async (): Promise<KafkaBroker> => {
    if (!options.dataDir) throw new Error('restart() needs a broker started with a dataDir');
    await kill();
    await rm(tempDir, { recursive: true, force: true });
    return startKafkaBroker({ ...options, dataDir, port: brokerPort, controllerPort, proxyPort: proxied?.port });
  };

  // Asked every READY_POLL_MS until it answers; a broker that exited is not asked again.
  let exitedEarly = false;
  try {
    await pRetry(
      async () => {
        if (!jvm.running()) {
          exitedEarly = true;
          throw new AbortError(
            `Kafka broker exited with code ${await exited} before it answered.\n` +
              `--- output ---\n${output.toString()}\n--- ${serverLog} ---\n${await readTail(serverLog, 40)}`,
          );
        }
        await requestApiVersions('127.0.0.1', brokerPort);
      },
      { retries: Number.POSITIVE_INFINITY, factor: 1, minTimeout: READY_POLL_MS, maxRetryTime: READY_TIMEOUT_MS },
    );
  } catch (error) {
    const failure = exitedEarly
      ? error
      : new Error(
          `Kafka broker did not answer within ${READY_TIMEOUT_MS / 1000} s (last error: ${String(error)}).\n` +
            `--- ${serverLog} ---\n${await readTail(serverLog, 40)}`,
        );
    await stop();
    throw failure;
  }
  log(`kafka: broker ${nodeId} ready at 127.0.0.1:${brokerPort}`);
  return {
    nodeId,
    pid: child.pid ?? -1,
    proxied,
    bootstrapServers: `127.0.0.1:${brokerPort}`,
    port: brokerPort,
    controllerPort,
    logDir: dataDir,
    serverLog,
    exited,
    stop,
    kill,
    restart,
    pause,
    resume,
  };
}
