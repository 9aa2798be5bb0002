/**
 * Toxiproxy for the network fault trials: a TCP proxy between one role and
 * the broker that the test cuts, slows down and resets through its HTTP API
 * (https://github.com/Shopify/toxiproxy#http-api, v2.5.0).
 *
 * The server binary is built from the Go module proxy by
 * scripts/install-toxiproxy.sh into `<cache>/toxiproxy/bin` (what
 * `scripts/install.sh --test` runs), and here on first use when it is missing,
 * as the Kafka jars are fetched on first use.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { toolCacheDir } from '../../tools/jvm.js';
import { repoRoot } from './cli.js';
import { reservePort } from './faults-shop.js';

const READY_TIMEOUT_MS = 10_000;
const OUTPUT_TAIL_CHARS = 8_000;

/** The toxics the trials use, with their attributes as Toxiproxy names them (milliseconds). */
export type ToxicSpec =
  | { type: 'latency'; attributes: { latency: number; jitter?: number } }
  /** Drops every byte; closes the connection after `timeout` ms, or never with 0 (a black hole). */
  | { type: 'timeout'; attributes: { timeout: number } }
  /** Resets (TCP RST) each connection when data next passes, after `timeout` ms. */
  | { type: 'reset_peer'; attributes: { timeout: number } };

export interface ToxicOptions {
  name?: string;
  /** `downstream` (server to client, Toxiproxy's default) or `upstream` (client to server). */
  stream?: 'upstream' | 'downstream';
  /** The share of connections it applies to, 0 to 1. */
  toxicity?: number;
}

/**
 * The server's path, building it first when it is not in the cache. The script decides (it
 * returns at once when its version is there), so a new version in it is built here too.
 */
export async function ensureToxiproxy(): Promise<string> {
  const cacheDir = toolCacheDir('toxiproxy');
  const binary = join(cacheDir, 'bin', 'toxiproxy-server');
  const script = join(repoRoot, 'scripts', 'install-toxiproxy.sh');
  const output = await new Promise<string>((resolve, reject) => {
    // The cache root as the Kafka jars use it, resolved here: the script runs from the repo root.
    const env = { ...process.env, PIZZA_CACHE_DIR: dirname(cacheDir) };
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`${script} failed:\n${text.trim()}`))));
  });
  if (!existsSync(binary)) throw new Error(`${script} ran but left no ${binary}:\n${output.trim()}`);
  return binary;
}

/** One proxy: `listen` on 127.0.0.1, forwarding to `upstream`. */
export class ToxicProxy {
  constructor(
    private readonly server: Toxiproxy,
    readonly name: string,
    readonly listenPort: number,
    readonly upstream: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.listenPort}`;
  }

  /** Takes the proxy down: open connections close and new ones are refused, as when a host is unreachable. */
  async disable(): Promise<void> {
    await this.server.request('POST', `/proxies/${this.name}`, { enabled: false });
  }

  async enable(): Promise<void> {
    await this.server.request('POST', `/proxies/${this.name}`, { enabled: true });
  }

  /** Adds a toxic to every connection, open and new; returns its name for `removeToxic`. */
  async addToxic(toxic: ToxicSpec, options: ToxicOptions = {}): Promise<string> {
    const stream = options.stream ?? 'downstream';
    const name = options.name ?? `${toxic.type}_${stream}`;
    await this.server.request('POST', `/proxies/${this.name}/toxics`, {
      name,
      type: toxic.type,
      stream,
      toxicity: options.toxicity ?? 1,
      attributes: toxic.attributes,
    });
    return name;
  }

  async removeToxic(name: string): Promise<void> {
    await this.server.request('DELETE', `/proxies/${this.name}/toxics/${name}`);
  }
}

/** A running toxiproxy-server, its API on a free port of 127.0.0.1. */
export class Toxiproxy {
  private output = '';
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;
  private readonly killAtExit = () => this.child.kill('SIGKILL');

  private constructor(
    private readonly child: ChildProcess,
    readonly apiUrl: string,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
    // The server outlives a test run that dies before stop(): take it down with the run.
    process.once('exit', this.killAtExit);
  }

  static async start(): Promise<Toxiproxy> {
    const binary = await ensureToxiproxy();
    const port = await reservePort();
    const child = spawn(binary, ['-host', '127.0.0.1', '-port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    const server = new Toxiproxy(child, `http://127.0.0.1:${port}`);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (server.exitCode !== undefined) {
        throw new Error(`toxiproxy-server exited (${server.exitCode}) before it answered:\n${server.output}`);
      }
      try {
        await server.request('GET', '/version');
        return server;
      } catch (error) {
        if (Date.now() > deadline) {
          await server.stop();
          throw new Error(
            `toxiproxy-server did not answer in ${READY_TIMEOUT_MS} ms (${String(error)}):\n${server.output}`,
          );
        }
        await sleep(100);
      }
    }
  }

  /** A proxy from `127.0.0.1:listenPort` to `upstream`; a free port when none is given. */
  async createProxy(name: string, upstream: string, listenPort?: number): Promise<ToxicProxy> {
    const port = listenPort ?? (await reservePort());
    await this.request('POST', '/proxies', { name, listen: `127.0.0.1:${port}`, upstream, enabled: true });
    return new ToxicProxy(this, name, port, upstream);
  }

  /** Every proxy enabled again and every toxic gone. */
  async reset(): Promise<void> {
    await this.request('POST', '/reset');
  }

  async request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`toxiproxy ${method} ${path}: ${response.status} ${text.trim()}`);
    // `/version` answers in plain text; the rest in JSON.
    return response.headers.get('content-type')?.includes('json') && text ? (JSON.parse(text) as unknown) : text;
  }

  async stop(): Promise<void> {
    process.off('exit', this.killAtExit);
    if (this.exitCode === undefined) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
