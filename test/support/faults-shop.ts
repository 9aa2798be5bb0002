/**
 * A pizza shop for fault trials: one `pizza <role>` process per role (or
 * several of one role), on real Kafka, each killable with SIGKILL and
 * restartable on the same data. Topics and groups are random per shop.
 *
 * PIZZA_FAULTS_ROOT points at another checkout's built tree (its bin/pizza
 * and dist/), e.g. to reproduce on a clean build of HEAD while src/ is being edited.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logFilePath } from '../../src/adapters/logs/logger.js';
import type { Topics } from '../../src/config/settings.js';
import { repoRoot } from './cli.js';
import { createTopicsOn, deleteTopicsOn, TopicRecorder, type TopicReplication } from './faults-kafka.js';
import { TOPIC_INI_KEYS } from './ini.js';

export type FaultRole = 'serve' | 'assemble' | 'bake' | 'deliver' | 'status';

export const STAGE_TOPICS = ['ordered', 'assembled', 'baked', 'pending', 'delivered'] as const;
export type StageTopic = (typeof STAGE_TOPICS)[number];

/** Every topic the shop knows, with this shop's random names. */
export type FaultTopics = Topics;

export interface FaultShopOptions {
  bootstrap: string;
  /** Simulated durations × this; 0.05 makes an order take one to two seconds. */
  timeScale?: number;
  partitions?: number;
  sessionTimeoutMs?: number;
  /** The roles' processing guarantee. */
  processing?: 'at-least-once' | 'exactly-once';
  /** Another bootstrap address for some roles (a proxy's, for the network trials); the rest use `bootstrap`. */
  roleBootstrap?: Partial<Record<FaultRole, string>>;
  /** More ini lines, sections and all, after the shop's own (a quicker watchdog, say). */
  extraIni?: string[];
  /** Copies of each topic (and min.insync.replicas): 1 on one broker, 3 (and 2) on a cluster. */
  replication?: TopicReplication;
}

const pizzaRoot = process.env.PIZZA_FAULTS_ROOT ?? repoRoot;
const OUTPUT_TAIL_CHARS = 200_000;
/** Whether the pizza under test has order admission (issue 21): its built settings declare the key. */
const KNOWS_ADMISSION = (() => {
  const built = join(pizzaRoot, 'dist', 'config', 'shop-settings.js');
  return !existsSync(built) || readFileSync(built, 'utf8').includes('order_admission');
})();

export function randomId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * A free port below the kernel's ephemeral range, so no outgoing connection
 * takes it while a process that listens on it is down between two runs.
 */
export async function reservePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => {
        const bound = (server.address() as AddressInfo).port;
        server.close(() => resolve(bound === port));
      });
    });
    if (free) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

/** One run of one `pizza <role>` process. */
export class RoleProcess {
  readonly startedAt = Date.now();
  readonly ready: Promise<void>;
  /** The web app's address, for serve. */
  url: string | undefined;
  killedAt: number | undefined;
  /** When a graceful stop was asked for: a process that ends after it did not die by itself. */
  stoppedAt: number | undefined;
  private output = '';
  private readonly exited: Promise<number | null>;
  private exitState: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcess;

  constructor(
    readonly role: FaultRole,
    readonly name: string,
    readonly logDir: string,
    args: string[],
  ) {
    this.child = spawn(process.execPath, [join(pizzaRoot, 'bin', 'pizza'), role, ...args], {
      cwd: pizzaRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.exitState = { code, signal };
        resolve(code);
      }),
    );
    this.ready = this.waitForStart();
  }

  get alive(): boolean {
    return this.exitState === undefined;
  }

  /** How it ended, for messages: `exit 1`, `SIGKILL`, or `running`. */
  get state(): string {
    if (!this.exitState) return 'running';
    return this.exitState.signal ?? `exit ${this.exitState.code}`;
  }

  /**
   * The role's current JSON log file (`<log-dir>/<role>/current.log`), one object per line;
   * or another component's, such as `kafka` (the client's lines and the outage reports).
   */
  logLines(component: string = this.role): Array<Record<string, unknown>> {
    const path = logFilePath(this.logDir, component);
    if (!existsSync(path)) return [];
    const lines: Array<Record<string, unknown>> = [];
    for (const text of readFileSync(path, 'utf8').split('\n')) {
      if (!text) continue;
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        // A line cut short by SIGKILL.
      }
    }
    return lines;
  }

  outputTail(chars = 4_000): string {
    return this.output.slice(-chars);
  }

  /** SIGKILL: no shutdown, no commit, no flush. Resolves once the process is gone. */
  async kill9(): Promise<void> {
    this.killedAt = Date.now();
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP: a hung process, which keeps its sockets and its state and does nothing. */
  freeze(): void {
    if (this.alive) this.child.kill('SIGSTOP');
  }

  /** SIGCONT: the hung process goes on as if no time had passed. */
  thaw(): void {
    if (this.alive) this.child.kill('SIGCONT');
  }

  /** A graceful stop, for cleanup. */
  async stop(): Promise<void> {
    this.stoppedAt ??= Date.now();
    if (this.alive) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Settles when the start line comes out, or when the process ends or `timeoutMs` passes without it. */
  private waitForStart(timeoutMs = 60_000): Promise<void> {
    const pattern = this.role === 'serve' ? /pizza shop open at (http:\/\/[^\s"]+)/ : /pizza \w+ running/;
    return new Promise((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.child.stdout?.off('data', look);
        this.child.stderr?.off('data', look);
        this.child.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      // Registered after the listener that keeps `output`, so it sees each chunk already added.
      const look = () => {
        const match = pattern.exec(this.output);
        if (!match) return false;
        this.url = match[1];
        finish();
        return true;
      };
      // On close, not exit: every line the process wrote has been read by then.
      const onClose = () => {
        if (!look()) finish(new Error(`${this.name} exited (${this.state}) before it started:\n${this.outputTail()}`));
      };
      const timer = setTimeout(
        () => finish(new Error(`${this.name} did not start in ${timeoutMs} ms:\n${this.outputTail()}`)),
        timeoutMs,
      );
      this.child.stdout?.on('data', look);
      this.child.stderr?.on('data', look);
      this.child.on('close', onClose);
      look();
    });
  }
}

/**
 * The shop: an ini file a user would write, the processes running it, and a
 * recorder of every topic. serve and status share the view's data dir (as on
 * one machine); every other role has its own, and instances of deliver share
 * theirs (its early warnings live there). Each process run logs to its own dir.
 */
export class FaultShop {
  readonly dir: string;
  readonly viewDir: string;
  readonly config: string;
  readonly topics: FaultTopics;
  readonly processes: RoleProcess[] = [];
  readonly servePort: number;
  /** The work roles' consumer groups, as the ini names them. */
  readonly groupIds: Record<'assemble' | 'bake' | 'deliver' | 'status', string>;
  recorder!: TopicRecorder;
  private runs = 0;

  private constructor(
    readonly options: Required<FaultShopOptions>,
    servePort: number,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'pizza-faults-'));
    this.viewDir = join(this.dir, 'view');
    this.servePort = servePort;
    const run = randomId('f');
    this.topics = Object.fromEntries(
      Object.entries(TOPIC_INI_KEYS).map(([key, iniKey]) => [key, `${run}-${iniKey.replaceAll('_', '-')}`]),
    ) as unknown as Topics;
    this.groupIds = {
      assemble: `${run}-assemble`,
      bake: `${run}-bake`,
      deliver: `${run}-delivery`,
      status: `${run}-status`,
    };
    this.config = join(this.dir, 'client.ini');
    writeFileSync(this.config, this.ini(run, options.bootstrap));
    for (const [role, bootstrap] of Object.entries(options.roleBootstrap)) {
      writeFileSync(this.roleConfig(role as FaultRole), this.ini(run, bootstrap));
    }
  }

  static async create(options: FaultShopOptions): Promise<FaultShop> {
    const shop = new FaultShop(
      {
        timeScale: 0.05,
        partitions: 4,
        sessionTimeoutMs: 6_000,
        processing: 'at-least-once',
        roleBootstrap: {},
        extraIni: [],
        replication: { replicationFactor: 1 },
        ...options,
      },
      await reservePort(),
    );
    await createTopicsOn(
      options.bootstrap,
      Object.values(shop.topics),
      shop.options.partitions,
      shop.options.replication,
    );
    shop.recorder = await TopicRecorder.start(options.bootstrap, Object.values(shop.topics), randomId('faults-reader'));
    return shop;
  }

  /**
   * Starts one process of a role; `instance` tells several of one role apart. Resolves once it runs.
   * `ini`: lines for this run only, sections and all, after the shop's (another `contracts_dir`, say).
   */
  async start(role: FaultRole, instance = 'a', ini: string[] = []): Promise<RoleProcess> {
    const run = this.launch(role, instance, ini);
    await run.ready;
    return run;
  }

  /** Starts a process without waiting for it. */
  launch(role: FaultRole, instance = 'a', ini: string[] = []): RoleProcess {
    this.runs += 1;
    const name = `${role}-${instance}`;
    const logDir = join(this.dir, 'logs', `${name}-${this.runs}`);
    const dataDir = role === 'serve' || role === 'status' ? this.viewDir : join(this.dir, role);
    mkdirSync(logDir, { recursive: true });
    const shared = this.options.roleBootstrap[role] ? this.roleConfig(role) : this.config;
    const config = ini.length === 0 ? shared : join(this.dir, `client-${name}-${this.runs}.ini`);
    if (config !== shared) writeFileSync(config, `${readFileSync(shared, 'utf8')}${ini.join('\n')}\n`);
    const args = ['--config', config, '--data-dir', dataDir, '--log-dir', logDir];
    if (role === 'serve') args.push('--port', String(this.servePort));
    const run = new RoleProcess(role, name, logDir, args);
    this.processes.push(run);
    return run;
  }

  /** The latest run of a role instance. */
  current(role: FaultRole, instance = 'a'): RoleProcess {
    const run = this.processes.filter((candidate) => candidate.name === `${role}-${instance}`).at(-1);
    if (!run) throw new Error(`${role}-${instance} was never started`);
    return run;
  }

  get viewDb(): string {
    return join(this.viewDir, 'orders.db');
  }

  get serveUrl(): string {
    return `http://127.0.0.1:${this.servePort}`;
  }

  /** Processes that should be running but are not, for the checks. */
  deadProcesses(): string[] {
    const latest = new Map<string, RoleProcess>();
    for (const run of this.processes) latest.set(run.name, run);
    return [...latest.values()]
      .filter((run) => !run.alive && run.killedAt === undefined && run.stoppedAt === undefined)
      .map((run) => `${run.name} (${run.state}): ${run.outputTail(600)}`);
  }

  async close(bootstrapStillUp = true): Promise<void> {
    await Promise.all(this.processes.map((run) => run.stop()));
    await this.recorder?.stop();
    if (bootstrapStillUp) await deleteTopicsOn(this.options.bootstrap, Object.values(this.topics)).catch(() => {});
    if (!process.env.PIZZA_FAULTS_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The ini of a role given its own bootstrap address. */
  private roleConfig(role: FaultRole): string {
    return join(this.dir, `client-${role}.ini`);
  }

  private ini(run: string, bootstrap: string): string {
    const { topics, options } = this;
    return `${[
      '[kafka]',
      `bootstrap.servers = ${bootstrap}`,
      '[kafka-topics]',
      ...Object.entries(TOPIC_INI_KEYS).map(([key, iniKey]) => `${iniKey} = ${topics[key as keyof Topics]}`),
      '[kafka-topic-config]',
      `num_partitions = ${options.partitions}`,
      `replication_factor = ${options.replication.replicationFactor}`,
      '[kafka-consumer-group-id]',
      `microservice_assembled = ${run}-assemble`,
      `microservice_baked = ${run}-bake`,
      `microservice_delivery = ${run}-delivery`,
      `microservice_status = ${run}-status`,
      '[pizza-shop]',
      `time_scale = ${options.timeScale}`,
      'status_source = topics',
      `session_timeout_ms = ${options.sessionTimeoutMs}`,
      `processing = ${options.processing ?? 'at-least-once'}`,
      `heartbeat_interval_ms = ${Math.floor(options.sessionTimeoutMs / 4)}`,
      `data_dir = ${this.viewDir}`,
      `log_dir = ${join(this.dir, 'logs')}`,
      // One session places every order of a trial, far faster than a person: admission is off
      // (on a PIZZA_FAULTS_ROOT from before admission, which would refuse the key, there is none).
      ...(KNOWS_ADMISSION ? ['order_admission = false'] : []),
      ...options.extraIni,
    ].join('\n')}\n`;
  }
}
