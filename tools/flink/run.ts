/**
 * `npm run flink -- --config local.ini [--system-config default.ini]`: runs the
 * pizza-status job on a local Apache Flink mini-cluster (one JVM, jars from Maven
 * Central) against the cluster in the config's [kafka] section, until Ctrl-C.
 * The SQL is exactly what `pizza flink:print --dialect apache` prints.
 */
import { parseArgs } from 'node:util';
import { handleError } from '../../src/cli/handle-error.js';
import { loadSettings } from '../../src/config/settings.js';
import { contractsOn } from '../../src/flink/avro-tables.js';
import { flinkScript, flinkStateTtl, loadFlinkStatements } from '../../src/flink/statements.js';
import { flinkJobOutcome, submitFlinkSql } from './client.js';
import { startFlinkSqlRunner } from './flink.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string', short: 'c' }, 'system-config': { type: 'string' } },
  });
  const settings = loadSettings({ config: values.config, systemConfig: values['system-config'] });
  const script = flinkScript(await loadFlinkStatements(settings, 'apache'));

  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`flink: building ${settings.topics.status} from the stage topics on ${settings.kafka?.['bootstrap.servers']}`);
  // Said out loud: Flink forgets an order idle for longer, so a late event for it starts over.
  log(
    `flink: Top-N state TTL ${flinkStateTtl(settings)} (table_status_retention_hours); every run reads the stage topics from the earliest offsets, as a changed statement must`,
  );
  if (contractsOn(settings)) {
    // A table has one value format: one plain JSON record left on a stage topic fails the job.
    log(
      `flink: contracts on: the stage topics are read, and ${settings.topics.status} written, as framed Avro through ${settings.schemaRegistry?.url}; a plain JSON record on a stage topic fails the job`,
    );
  }
  log('flink: the first run downloads Flink from Maven Central, which takes a few minutes');

  const runner = await startFlinkSqlRunner({ log });
  let stopping = false;
  const stop = () => {
    stopping = true;
    void runner.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    // The script holds the cluster credentials: it goes to the runner over loopback, never to a file.
    const { jobIds } = await submitFlinkSql(runner, script);
    log(`flink: job ${jobIds.join(', ')} is running; Ctrl-C stops it. Flink's own log: ${runner.logFile}`);
    const ended = await Promise.race([
      Promise.all(jobIds.map((jobId) => flinkJobOutcome(runner, jobId))),
      runner.exited.then((code) => code),
    ]);
    // Ctrl-C reaches the JVM too, which then exits non-zero: that is a stop, not a failure.
    if (stopping) log('flink: stopped');
    else if (Array.isArray(ended)) {
      const failed = ended.find((outcome) => outcome.state !== 'FINISHED');
      if (failed) {
        log(`flink: the job ended ${failed.state}: ${failed.error ?? ''}; see ${runner.logFile}`);
        process.exitCode = 1;
      }
    } else {
      log(`flink: the SQL runner exited (JVM exit ${ended}); see ${runner.logFile}`);
      process.exitCode = 1;
    }
  } catch (error) {
    if (!stopping) throw error;
    log('flink: stopped');
  } finally {
    await runner.stop();
  }
}

main().catch(handleError);
