import { inject } from 'vitest';
import type { FlinkSqlRunnerAddress } from '../../tools/flink/client.js';
import './provided.js';

/** The run's shared Flink SQL runner (test/flink-setup.ts), and the file its JVM logs to. */
export function flinkRunner(): FlinkSqlRunnerAddress & { logFile: string } {
  const runner = inject('flinkSqlRunner');
  if (!runner) {
    throw new Error(
      'no Flink SQL runner in this project: a test that runs Flink SQL belongs in the flink project; add its file to FLINK in vitest.config.ts',
    );
  }
  return runner;
}
