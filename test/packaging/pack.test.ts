/**
 * What npm publishes is enough to run pizza, run the way a CI job or a user
 * without a clone runs it: pack the project as `npm publish` would, then
 * `npx --package <the tarball> pizza ...` from an empty directory (its help,
 * topics:check on the suite's broker, and the whole shop on the embedded bus
 * until an order placed over HTTP is delivered). The package is named
 * kafka-pizza-shop (npm's `pizza` is another tool) and its command `pizza`, so
 * this is also the form the docs show: `npx --package kafka-pizza-shop pizza all`.
 * A file left out of package.json's `files` fails here, not on a user's machine.
 *
 * npx installs the tarball into its own cache directory (~/.npm/_npx/<hash>),
 * which building two native modules would take minutes to fill (librdkafka
 * alone, on 2 cores). When the installed versions are the repository's, the
 * first npx call installs without scripts and their builds are copied from the
 * repository's node_modules (same Node, same machine); later calls reuse that
 * install. PIZZA_PACK_FULL_INSTALL=1 builds them as a user's npx would,
 * offline from GitHub with CKJS_LINKING=dynamic, as scripts/install.sh does.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';
import { ShopHttpClient } from '../support/http-client.js';
import { writeShopIni } from '../support/ini.js';
import { createShopTopics, kafkaTestSettings } from '../support/kafka.js';

const NATIVE_MODULES = ['better-sqlite3', '@confluentinc/kafka-javascript'];
const fullInstall = process.env.PIZZA_PACK_FULL_INSTALL === '1';
const dir = mkdtempSync(join(tmpdir(), 'pizza-pack-'));
/** Where the commands run: an empty directory, no package.json, nothing installed. */
const work = join(dir, 'work');
const timings: Record<string, number> = {};
let tarball = '';
/** npx's install of the tarball, removed afterwards: its name hashes this run's tarball path. */
let npxInstall: string | undefined;

const npmEnv = {
  ...process.env,
  CKJS_LINKING: 'dynamic',
  npm_config_update_notifier: 'false',
  npm_config_prefer_offline: 'true',
};

/**
 * Runs a command to its end without blocking: npx's first install can take a
 * minute on a busy machine, and a blocked worker misses vitest's own calls.
 */
function run(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = npmEnv,
): Promise<{ stdout: string; stderr: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${command} ${args.join(' ')} failed (${error.message}):\n${stdout}\n${stderr}`.slice(-4000)));
      } else {
        resolve({ stdout, stderr, seconds: (Date.now() - started) / 1000 });
      }
    });
  });
}

function version(root: string, name: string): string | undefined {
  const manifest = join(root, 'node_modules', name, 'package.json');
  return existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version : undefined;
}

beforeAll(async () => {
  const started = Date.now();
  if (!existsSync(join(repoRoot, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
  // --ignore-scripts: `prepare` would rebuild dist/, which the test command has just built.
  const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], repoRoot, 120_000);
  const filename = (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]?.filename ?? '';
  if (!filename) throw new Error(`npm pack named no tarball: ${packed.stdout}`);
  tarball = join(dir, filename);
  timings.pack = packed.seconds;
  mkdirSync(work);

  // npx installs the package on first use; `command -v pizza` names where, so the native builds can go there.
  const copyable = !fullInstall && NATIVE_MODULES.every((name) => version(repoRoot, name) !== undefined);
  const installed = await run(
    'npx',
    ['--yes', '--package', tarball, '-c', 'command -v pizza'],
    work,
    900_000,
    copyable ? { ...npmEnv, npm_config_ignore_scripts: 'true' } : npmEnv,
  );
  timings.install = installed.seconds;
  const bin = installed.stdout.trim().split('\n').at(-1) ?? '';
  // <npx cache>/_npx/<hash>/node_modules/.bin/pizza
  if (!bin.endsWith(join('node_modules', '.bin', 'pizza'))) {
    throw new Error(`npx installed no pizza: ${installed.stdout}`);
  }
  npxInstall = dirname(dirname(dirname(bin)));
  if (copyable) {
    const copy = Date.now();
    for (const name of NATIVE_MODULES) {
      if (version(npxInstall, name) === version(repoRoot, name)) {
        cpSync(join(repoRoot, 'node_modules', name, 'build'), join(npxInstall, 'node_modules', name, 'build'), {
          recursive: true,
        });
      } else {
        await run('npm', ['rebuild', name], npxInstall, 900_000);
      }
    }
    timings.nativeModules = (Date.now() - copy) / 1000;
  }
  timings.total = (Date.now() - started) / 1000;
  console.info(
    `packed and installed by npx in ${timings.total.toFixed(1)} s (${fullInstall ? 'native modules built' : 'native builds reused'}): ${JSON.stringify(timings)}`,
  );
}, 900_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (npxInstall && /[\\/]_npx[\\/][^\\/]+$/.test(npxInstall)) rmSync(npxInstall, { recursive: true, force: true });
});

/** `npx --yes --package <tarball> pizza ...` in an empty directory: what a CI job without a clone runs. */
function npxPizza(args: string[]): ChildProcess {
  return spawn('npx', ['--yes', '--package', tarball, 'pizza', ...args], {
    cwd: work,
    env: npmEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a stop reaches pizza (npx's child) too.
    detached: true,
  });
}

/** How a command ended: `stdout` alone (npx prints its own warnings on stderr), and both streams together. */
function finished(child: ChildProcess): Promise<{ code: number | null; stdout: string; output: string }> {
  let stdout = '';
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  // 'close', not 'exit': pizza, npx's child, holds the pipes until it has stopped.
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, output })));
}

describe('the published package', () => {
  it('holds what the installed pizza needs to explain itself', async () => {
    const { code, stdout, output } = await finished(npxPizza(['--help']));
    expect(code, output).toBe(0);
    for (const command of ['all', 'topics:check', 'flink:print', 'config:print']) {
      expect(stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
    // The Flink SQL templates ship too.
    const sql = await finished(npxPizza(['flink:print']));
    expect(sql.code, sql.output).toBe(0);
    expect(sql.stdout).toContain('INSERT INTO `pizza-status`');
  });

  it('checks the topics on a real broker', async () => {
    const settings = kafkaTestSettings();
    await createShopTopics(settings);
    const ini = writeShopIni(settings, {}, join(dir, 'client.ini'));
    const { code, stdout, output } = await finished(npxPizza(['topics:check', '--config', ini, '--json']));
    expect(code, output).toBe(0);
    const report = JSON.parse(stdout) as { ok: boolean; topics: Array<{ name: string }> };
    expect(report.ok).toBe(true);
    expect(report.topics.map((topic) => topic.name)).toContain(settings.topics.ordered);
  });

  it('runs the whole shop on the embedded bus: an order placed over HTTP is delivered', async () => {
    const data = join(work, 'data');
    const child = npxPizza([
      'all',
      '--port',
      '0',
      '--time-scale',
      '0.01',
      '--data-dir',
      data,
      '--log-dir',
      join(data, 'logs'),
    ]);
    const exited = finished(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`pizza all did not open the shop:\n${output}`)), 60_000);
        const check = () => {
          const match = /pizza shop open at (http:\/\/[^\s"]+)/.exec(output);
          if (match?.[1]) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        };
        child.stdout?.on('data', check);
        void exited.then(({ output: all }) => reject(new Error(`pizza all exited:\n${all}`)));
      });
      const client = new ShopHttpClient(url);
      await client.login('packaged');
      const orderId = await client.order({
        sauce: 'Pesto',
        cheese: 'Gouda',
        mainTopping: 'Chicken',
        extraToppings: ['Onion'],
      });
      const page = await client.waitForPage(`/orders/${orderId}`, 'Your pizza was delivered', 30_000);
      expect(page).toContain('Your pizza was delivered');
    } finally {
      // npx does not hand a signal on to pizza: stop the whole group, as Ctrl-C in a terminal does.
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    }
    // npx itself dies of the signal; pizza says how it stopped.
    const { output: all } = await exited;
    expect(all).toContain('stopped cleanly');
  });
});
