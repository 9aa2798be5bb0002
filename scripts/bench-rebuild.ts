/**
 * `npm run bench:rebuild`: what "state is a cache of Kafka" costs.
 *
 * Starts a real local broker, writes the full history of BENCH_ORDERS orders
 * (ordered, assembled, baked, delivered; 4 partitions) straight to the topics,
 * then measures, in this process (scripts/bench/rebuild.ts):
 *   - the orders view rebuilt from nothing: a status role with an empty data
 *     dir, from start until every order is delivered in its view;
 *   - deliver's replay: restoring its memory of every partition from what its
 *     group acknowledged, as a newly assigned instance does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafkaBroker } from '../tools/kafka/broker.js';
import { measureRebuild } from './bench/rebuild.js';
import { envNumber } from './bench/util.js';

const ORDERS = envNumber(process.env, 'BENCH_ORDERS', 10_000);
const PARTITIONS = 4;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-rebuild-'));
  const broker = await startKafkaBroker();
  try {
    const result = await measureRebuild({
      bootstrapServers: broker.bootstrapServers,
      orders: ORDERS,
      partitions: PARTITIONS,
      workDir: dir,
    });
    console.log(
      `orders: ${ORDERS} (4 records each on ${PARTITIONS} partitions); deliver remembered ${result.remembered}`,
    );
    console.log(
      `orders view rebuilt from the topics: ${result.viewSeconds.toFixed(1)} s (${result.viewSecondsPer10k.toFixed(1)} s per 10,000 orders), ${Math.round(result.recordsPerSecond)} records/s`,
    );
    console.log(
      `  of which ${result.startSeconds.toFixed(1)} s to the first order in the view (start, group join, first fetch); ` +
        `${Math.round(result.steadyRecordsPerSecond)} records/s from there`,
    );
    console.log(
      `deliver memory replayed from its inputs: ${result.replaySeconds.toFixed(2)} s (${result.replayMicrosecondsPerOrder.toFixed(0)} µs per order; no extra record per order)`,
    );
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
