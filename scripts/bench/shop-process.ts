import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkTopics } from '../../src/cli/commands/topics-check.js';
import { loadSettings } from '../../src/config/settings.js';
import { freePort, sleep } from './util.js';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const resultsDir = join(repoRoot, 'bench-results');
/**
 * The bench orders far faster than people do: order admission (rate limits, the kitchen
 * backlog bound) is off in its shops, so its figures are the core's, as before admission.
 * Shops from before admission (scripts/bench-history.sh runs today's bench on them) refuse a
 * variable for a key they do not have, so they get none.
 */
function benchEnv(): NodeJS.ProcessEnv {
  const knowsAdmission = 'admission' in loadSettings({ timeScale: '0' }).shop;
  return knowsAdmission ? { ...process.env, PIZZA__PIZZA_2D_SHOP__ORDER_ADMISSION: 'false' } : process.env;
}

export type Processing = 'at-least-once' | 'exactly-once';

/** `all`: every role in one `pizza all`; `roles`: `pizza serve`, `assemble`, `bake` and `deliver`, a process each. */
export type ShopLayout = 'all' | 'roles';

/** The roles a one-process-per-role shop needs; `serve` keeps its own orders view, so no `status`. */
export const ROLE_PROCESSES = ['serve', 'assemble', 'bake', 'deliver'] as const;

/** `kafka`: on a broker, with the bench's ini; `embedded`: `pizza all` with no config, the in-process bus. */
export type ShopBus = 'kafka' | 'embedded';

export interface ShopOptions {
  bus?: ShopBus;
  /** The broker, when `bus` is `kafka` (the default). */
  bootstrapServers: string;
  partitions: number;
  processing: Processing;
  layout: ShopLayout;
  /** A temporary directory of this run: the ini, and each process's data and log dirs. */
  workDir: string;
  /** Extra node flags for every process, e.g. a CPU profile. */
  nodeArgs?: string[];
  /** Start only these of the layout's processes (e.g. `serve` again on a view filled meanwhile). */
  only?: readonly string[];
  /** More ini lines, sections included, after the bench's own (e.g. short retention for a soak). */
  extraIni?: readonly string[];
  /** Appended to every topic name, so a second shop on the same broker starts on empty topics. */
  topicSuffix?: string;
  /** The operators' port (metrics), given as `--operator-port` to the web process; the ini's or a free one when omitted. */
  operatorPort?: number;
}

export interface ShopProcesses {
  baseUrl: string;
  /** The web host's orders view, read-only for the bench. */
  dbFile: string;
  /** The bench's ini; empty on the embedded bus. */
  ini: string;
  /** When `operatorPort` was given. */
  operatorUrl?: string | undefined;
  /** The main pid of each process: `all`, or one per role. */
  pids: Record<string, number>;
  /** Stops every process (SIGTERM, then SIGKILL after 20 s). */
  stop(): Promise<void>;
}

/** Writes the shop's ini for a broker, and creates its topics with the partition count asked for. */
export async function prepareShop(options: ShopOptions): Promise<{ ini: string; port: number; dbFileName: string }> {
  const port = await freePort();
  const ini = join(options.workDir, 'bench.ini');
  mkdirSync(options.workDir, { recursive: true });
  writeFileSync(
    ini,
    [
      '[kafka]',
      `bootstrap.servers = ${options.bootstrapServers}`,
      // BENCH_KAFKA="linger.ms=5;fetch.wait.max.ms=20": librdkafka properties to try, as a user's [kafka] would set them.
      ...(process.env.BENCH_KAFKA ?? '')
        .split(';')
        .filter((pair) => pair.includes('='))
        .map((pair) => pair.replace('=', ' = ')),
      '[kafka-topic-config]',
      `num_partitions = ${options.partitions}`,
      'replication_factor = 1',
      '[pizza-shop]',
      'status_source = topics',
      `processing = ${options.processing}`,
      `data_dir = ${join(options.workDir, 'data')}`,
      `log_dir = ${join(options.workDir, 'logs')}`,
      `port = ${port}`,
      ...(options.extraIni ?? []),
      ...suffixedNames(options.topicSuffix),
    ].join('\n'),
  );
  const settings = loadSettings({ config: ini, timeScale: '0' });
  const topics = await checkTopics(settings, { create: true });
  if (topics.exitCode !== 0) throw new Error(`topics not ready: ${topics.report.problems.join('; ')}`);
  return { ini, port, dbFileName: settings.orders.fileName };
}

/** The shop's topics and work groups, renamed with a suffix: a fresh set on the same broker. */
function suffixedNames(suffix: string | undefined): string[] {
  if (!suffix) return [];
  const settings = loadSettings({ timeScale: '0' });
  const section = (name: string, values: Record<string, string>) => [
    `[${name}]`,
    ...Object.entries(values).map(([key, value]) => `${key} = ${value}${suffix}`),
  ];
  const topics = Object.values(settings.topics) as string[];
  const { status, assemble, bake, deliver } = settings.groupIds;
  return [
    // Each topic's key is its default name in snake case (pizza-ordered: pizza_ordered).
    ...section('kafka-topics', Object.fromEntries(topics.map((topic) => [topic.replaceAll('-', '_'), topic]))),
    ...section('kafka-consumer-group-id', {
      microservice_status: status,
      microservice_assembled: assemble,
      microservice_baked: bake,
      microservice_delivery: deliver,
    }),
  ];
}

/** Starts the shop from dist/ at time scale 0 and waits until its web app answers. */
export async function startShop(options: ShopOptions): Promise<ShopProcesses> {
  const embedded = options.bus === 'embedded';
  const { ini, port, dbFileName } = embedded
    ? { ini: '', port: await freePort(), dbFileName: loadSettings({ timeScale: '0' }).orders.fileName }
    : await prepareShop(options);
  const roles = (options.layout === 'all' ? ['all'] : [...ROLE_PROCESSES]).filter(
    (role) => !options.only || options.only.includes(role),
  );
  const children = new Map<string, ChildProcess>();
  const env = benchEnv();
  const stop = async () => {
    await Promise.all(
      [...children.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(20_000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }),
    );
  };
  try {
    for (const role of roles) {
      const dir = options.layout === 'all' ? options.workDir : join(options.workDir, role);
      const args = [
        ...(options.nodeArgs ?? []),
        // BENCH_NODE_ARGS="--max-semi-space-size=4": V8 flags to try on the shop's processes.
        ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
        join(repoRoot, 'bin', 'pizza'),
        role,
        ...(embedded ? [] : ['--config', ini]),
        '--time-scale',
        '0',
        '--log-level',
        'warn',
        '--data-dir',
        join(dir, 'data'),
        '--log-dir',
        join(dir, 'logs'),
      ];
      if (role === 'all' || role === 'serve') args.push('--port', String(port));
      if ((role === 'all' || role === 'serve') && options.operatorPort !== undefined) {
        args.push('--operator-port', String(options.operatorPort));
      }
      // cwd: the run's own directory, so no pizza.ini lying around in the repository is picked up.
      mkdirSync(dir, { recursive: true });
      children.set(role, spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: dir, env }));
    }
    const baseUrl = `http://127.0.0.1:${port}`;
    const started = Date.now();
    const webRole = options.layout === 'all' ? 'all' : 'serve';
    const dataDir = join(options.layout === 'all' ? options.workDir : join(options.workDir, webRole), 'data');
    while (
      !(await fetch(`${baseUrl}/health-check`).then(
        (response) => response.ok,
        () => false,
      ))
    ) {
      const dead = [...children].find(([, child]) => child.exitCode !== null);
      if (dead) throw new Error(`pizza ${dead[0]} exited with code ${dead[1].exitCode} before the shop came up`);
      if (Date.now() - started > 90_000) throw new Error(`pizza ${webRole} did not come up within 90 s`);
      await sleep(200);
    }
    return {
      baseUrl,
      dbFile: join(dataDir, dbFileName),
      ini,
      operatorUrl: options.operatorPort === undefined ? undefined : `http://127.0.0.1:${options.operatorPort}`,
      pids: Object.fromEntries([...children].map(([role, child]) => [role, child.pid ?? 0])),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
