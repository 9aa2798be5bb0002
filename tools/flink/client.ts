/**
 * Talks to a running Flink SQL runner (./flink.ts starts one) over HTTP: sends scripts,
 * waits for jobs, cancels them. Plain fetch, so any process that knows the runner's URL
 * (a test worker, `npm run flink`) can use the same JVM.
 */

/** Where a runner listens, and the token it wants on every request (plain data: tests get it through `inject`). */
export interface FlinkSqlRunnerAddress {
  /** `http://127.0.0.1:<port>` */
  url: string;
  token: string;
}

/** The jobs one script started, each RUNNING (or already FINISHED) when this is returned. */
export interface FlinkSqlJobs {
  jobIds: string[];
  /** The runner's progress lines for this script: one per statement, one per job. */
  lines: string[];
}

export type FlinkJobState = 'FINISHED' | 'FAILED' | 'CANCELED';

export interface FlinkJobOutcome {
  state: FlinkJobState;
  error?: string;
}

function authorization(runner: FlinkSqlRunnerAddress): Record<string, string> {
  return { authorization: `Bearer ${runner.token}` };
}

async function failure(response: Response, what: string): Promise<Error> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: string; lines?: string[] };
    const lines = body.lines?.length ? `\n--- runner lines ---\n${body.lines.join('\n')}` : '';
    return new Error(`${what}: ${body.error ?? text}${lines}`);
  } catch {
    return new Error(`${what}: HTTP ${response.status} ${text}`);
  }
}

/**
 * Runs a script's statements on the runner. Resolves once every job it started is running;
 * rejects with the failing statement's error and the lines before it.
 */
export async function submitFlinkSql(runner: FlinkSqlRunnerAddress, script: string): Promise<FlinkSqlJobs> {
  const response = await fetch(`${runner.url}/scripts`, {
    method: 'POST',
    headers: { ...authorization(runner), 'content-type': 'text/plain; charset=utf-8' },
    body: script,
  });
  if (!response.ok) throw await failure(response, 'the Flink SQL script failed');
  return (await response.json()) as FlinkSqlJobs;
}

/** Waits until a job ends, however it ends. */
export async function flinkJobOutcome(runner: FlinkSqlRunnerAddress, jobId: string): Promise<FlinkJobOutcome> {
  // Node's fetch gives up on a response after 5 minutes without headers; a streaming job runs for longer.
  for (;;) {
    try {
      const response = await fetch(`${runner.url}/jobs/${jobId}`, { headers: authorization(runner) });
      if (!response.ok) throw await failure(response, `no outcome for Flink job ${jobId}`);
      return (await response.json()) as FlinkJobOutcome;
    } catch (error) {
      if (!(error instanceof TypeError && /headers timeout/i.test(String(error.cause)))) throw error;
    }
  }
}

/** Cancels jobs and waits until they have stopped; a job that already ended is fine. */
export async function cancelFlinkJobs(runner: FlinkSqlRunnerAddress, jobIds: readonly string[]): Promise<void> {
  await Promise.all(
    jobIds.map(async (jobId) => {
      const response = await fetch(`${runner.url}/jobs/${jobId}`, { method: 'DELETE', headers: authorization(runner) });
      if (!response.ok && response.status !== 404) throw await failure(response, `could not cancel Flink job ${jobId}`);
    }),
  );
}
