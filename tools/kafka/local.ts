/**
 * Runs a local Apache Kafka broker, or a cluster of several, for trying the shop by hand:
 *
 *   npx tsx tools/kafka/local.ts [--brokers 3]
 *
 * Keeps its data in `<repo>/.data/kafka` (a cluster: `<repo>/.data/kafka-cluster`)
 * across runs, writes `<repo>/local.ini` pointing at it, and runs until Ctrl-C.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { lastLines } from '../cached-build.js';
import { startKafkaBroker } from './broker.js';
import { startKafkaCluster } from './cluster.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const iniPath = join(repoRoot, 'local.ini');

/** What runs: one broker or a cluster, seen the same way. */
interface LocalKafka {
  bootstrapServers: string;
  dataDir: string;
  serverLogs: string[];
  /** Settles when any of its brokers exits. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

async function startLocal(brokers: number): Promise<LocalKafka> {
  if (brokers === 1) {
    const dataDir = join(repoRoot, '.data', 'kafka');
    const broker = await startKafkaBroker({ dataDir, log: (line) => console.log(line) });
    return { ...broker, dataDir, serverLogs: [broker.serverLog], stop: () => broker.stop() };
  }
  const dataDir = join(repoRoot, '.data', 'kafka-cluster');
  const cluster = await startKafkaCluster({ size: brokers, dataRoot: dataDir, log: (line) => console.log(line) });
  const nodes = cluster.nodeIds.map((nodeId) => cluster.broker(nodeId));
  return {
    bootstrapServers: cluster.bootstrapServers,
    dataDir,
    serverLogs: nodes.map((node) => node.serverLog),
    exited: Promise.race(nodes.map((node) => node.exited)),
    stop: () => cluster.close(),
  };
}

function localIni(kafka: LocalKafka, brokers: number): string {
  const replicas = Math.min(3, brokers);
  return [
    '# Written by tools/kafka/local.ts for the Kafka it runs on this machine.',
    '# Valid only while that script runs; each run picks new ports and rewrites this file.',
    `# Kafka keeps its data in ${relative(repoRoot, kafka.dataDir)}/ (delete it to start empty).`,
    '',
    '[kafka]',
    `bootstrap.servers = ${kafka.bootstrapServers}`,
    '',
    brokers === 1
      ? '# One broker can hold one copy of each partition.'
      : `# ${replicas} copies of each partition; the brokers' min.insync.replicas is ${Math.min(2, brokers)}.`,
    '[kafka-topic-config]',
    `replication_factor = ${replicas}`,
    '',
    '# No Flink job runs here, so the status view reads the stage topics.',
    '[pizza-shop]',
    'status_source = topics',
    '',
  ].join('\n');
}

function brokerCount(): number {
  const { values } = parseArgs({ options: { brokers: { type: 'string', default: '1' } } });
  const count = Number(values.brokers);
  if (!Number.isInteger(count) || count < 1 || count > 9) {
    throw new Error(`--brokers takes a whole number from 1 to 9, not ${values.brokers}`);
  }
  return count;
}

async function main(): Promise<void> {
  const brokers = brokerCount();
  const what = brokers === 1 ? 'a local Kafka broker' : `a local Kafka cluster of ${brokers} brokers`;
  console.log(`Starting ${what} (the first run downloads its jars with Maven)...`);
  const broker = await startLocal(brokers);
  await writeFile(iniPath, localIni(broker, brokers));

  const ini = relative(process.cwd(), iniPath) || iniPath;
  console.log(`
Kafka is running at ${broker.bootstrapServers}
  data:       ${broker.dataDir}
  broker log: ${broker.serverLogs.join('\n              ')}
  config:     ${iniPath}

Use it from another terminal:
  pizza topics:check --config ${ini} --create
  pizza all --config ${ini}

Press Ctrl-C to stop ${brokers === 1 ? 'the broker' : 'the brokers'}.`);

  let shuttingDown = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    // Under tsx a terminal's Ctrl-C arrives twice (from the terminal and relayed by tsx),
    // so a repeated signal cannot mean "hurry up"; stop() kills the JVM after 15 s anyway.
    if (shuttingDown) return;
    shuttingDown = true;
    console.log(`\n${signal}: stopping Kafka...`);
    broker.stop().then(
      () => {
        console.log('Kafka stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        console.error('Could not stop Kafka cleanly:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  // Ctrl-C in a terminal reaches the JVM too, so an exit while shutting down is expected.
  const code = await broker.exited;
  if (!shuttingDown) {
    const logs = await Promise.all(broker.serverLogs.map((file) => readFile(file, 'utf8').catch(() => '')));
    const log = logs.join('\n');
    console.error(`${lastLines(log, 30)}\n\nKafka exited on its own (code ${code}); above is the end of its log.`);
    await broker.stop();
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
