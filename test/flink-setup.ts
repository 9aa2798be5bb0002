import type { TestProject } from 'vitest/node';
import { startFlinkSqlRunner } from '../tools/flink/flink.js';
import './support/provided.js';

/**
 * Starts the one Flink SQL runner JVM the flink project's files share: each sends
 * its scripts to it (tools/flink/client.ts) and cancels its jobs when done, so the
 * JVM and Flink's planner start once per run, not once per file. It listens within
 * a second and loads the planner while the broker starts.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runner = await startFlinkSqlRunner();
  project.provide('flinkSqlRunner', { url: runner.url, token: runner.token, logFile: runner.logFile });
  return () => runner.stop();
}
