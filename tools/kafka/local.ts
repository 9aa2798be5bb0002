/**
 * Runs a local Apache Kafka broker for trying the shop by hand:
 *
 *   npx tsx tools/kafka/local.ts
 *
 * Keeps its data in `<repo>/.data/kafka` across runs, writes `<repo>/local.ini`
 * pointing at it, and runs until Ctrl-C.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKafkaBroker } from './broker.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = join(repoRoot, '.data', 'kafka');
const iniPath = join(repoRoot, 'local.ini');

function localIni(bootstrapServers: string): string {
  return [
    '# Written by tools/kafka/local.ts for the Kafka broker it runs on this machine.',
    '# Valid only while that script runs; each run picks a new port and rewrites this file.',
    `# The broker keeps its data in ${relative(repoRoot, dataDir)}/ (delete it to start empty).`,
    '',
    '[kafka]',
    `bootstrap.servers = ${bootstrapServers}`,
    '',
    '# One broker can hold one copy of each partition.',
    '[kafka-topic-config]',
    'replication_factor = 1',
    '',
    '# No Flink job runs here, so the status view reads the stage topics.',
    '[pizza-shop]',
    'status_source = topics',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  console.log('Starting a local Kafka broker (the first run downloads its jars with Maven)...');
  const broker = await startKafkaBroker({ dataDir, log: (line) => console.log(line) });
  await writeFile(iniPath, localIni(broker.bootstrapServers));

  const ini = relative(process.cwd(), iniPath) || iniPath;
  console.log(`
Kafka is running at ${broker.bootstrapServers}
  data:       ${dataDir}
  broker log: ${broker.serverLog}
  config:     ${iniPath}

Use it from another terminal:
  pizza topics:check --config ${ini} --create
  pizza all --config ${ini}

Press Ctrl-C to stop the broker.`);

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
    const log = await readFile(broker.serverLog, 'utf8').catch(() => '');
    console.error(
      `${log.trimEnd().split('\n').slice(-30).join('\n')}\n\nKafka exited on its own (code ${code}); above is the end of its log.`,
    );
    await broker.stop();
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
