/**
 * `npm run flink -- --config local.ini [--system-config default.ini]`: runs the
 * pizza-status job on a local Apache Flink mini-cluster (one JVM, jars from Maven
 * Central) against the cluster in the config's [kafka] section, until Ctrl-C.
 * The SQL is exactly what `pizza flink:print --dialect apache` prints.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { handleError } from '../../src/cli/handle-error.js';
import { loadSettings } from '../../src/config/settings.js';
import { flinkScript, flinkStatements, flinkStateTtl } from '../../src/flink/statements.js';
import { startFlinkSql } from './flink.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string', short: 'c' }, 'system-config': { type: 'string' } },
  });
  const settings = loadSettings({ config: values.config, systemConfig: values['system-config'] });
  const script = flinkScript(flinkStatements(settings, 'apache'));

  // The script holds the cluster credentials: a private directory, removed on exit.
  const dir = await mkdtemp(join(tmpdir(), 'pizza-flink-job-'));
  const sqlFile = join(dir, 'pizza-status.sql');
  await writeFile(sqlFile, script, { mode: 0o600 });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`flink: building ${settings.topics.status} from the stage topics on ${settings.kafka?.['bootstrap.servers']}`);
  // Said out loud: Flink forgets an order idle for longer, so a late event for it starts over.
  log(
    `flink: Top-N state TTL ${flinkStateTtl(settings)} (table_status_retention_hours); every run reads the stage topics from the earliest offsets, as a changed statement must`,
  );
  log('flink: the first run downloads Flink from Maven Central, which takes a few minutes');

  const run = await startFlinkSql({ sqlFile, log }).finally(() => rm(dir, { recursive: true, force: true }));
  log(`flink: job ${run.jobIds.join(', ')} is running; Ctrl-C stops it. Flink's own log: ${run.logFile}`);
  let stopping = false;
  const stop = () => {
    stopping = true;
    void run.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const code = await run.exited;
  await run.stop();
  // Ctrl-C reaches the JVM too, which then exits non-zero: that is a stop, not a failure.
  if (stopping) log('flink: stopped');
  else if (code !== 0) {
    log(`flink: the job ended (JVM exit ${code}); see ${run.logFile}`);
    process.exitCode = 1;
  }
}

main().catch(handleError);
