/**
 * Where does an idle `pizza all --config` on Kafka keep its memory? Starts a
 * local broker, then, one at a time and each left ~10 s to settle:
 *   - bare processes (Node alone; the shop's libraries loaded; N idle Kafka
 *     consumers/producers), to price each part on its own;
 *   - `pizza all` from dist/ with each variant (an env variable, a V8 flag, or
 *     librdkafka properties as a user's [kafka] would set them).
 * For each: RSS, its split by mapping (/proc/<pid>/smaps), the V8 heap from the
 * shop's /metrics, and the threads by name. Writes bench-results/idle-memory.json.
 *   npm run build && npx tsx scripts/bench/idle-memory.ts [variant...]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafkaBroker } from '../../tools/kafka/broker.js';
import { processMemory } from './memory.js';
import { repoRoot, resultsDir, startShop } from './shop-process.js';
import { threadCount } from './threads.js';
import { freePort, sleep } from './util.js';

interface Variant {
  name: string;
  env?: Record<string, string>;
  nodeArgs?: string;
  kafka?: string;
}

const VARIANTS: Variant[] = [
  { name: 'baseline' },
  { name: 'MALLOC_ARENA_MAX=2', env: { MALLOC_ARENA_MAX: '2' } },
  { name: 'MALLOC_ARENA_MAX=1', env: { MALLOC_ARENA_MAX: '1' } },
  { name: 'fetch.max.bytes 1 MiB', kafka: 'fetch.max.bytes=1048576;receive.message.max.bytes=1100000' },
  { name: 'socket.receive.buffer.bytes 64 KiB', kafka: 'socket.receive.buffer.bytes=65536' },
  { name: 'queued.max.messages.kbytes 64', kafka: 'queued.max.messages.kbytes=64' },
  { name: '--max-semi-space-size=1', nodeArgs: '--max-semi-space-size=1' },
  { name: '--max-semi-space-size=2', nodeArgs: '--max-semi-space-size=2' },
  { name: '--max-semi-space-size=4', nodeArgs: '--max-semi-space-size=4' },
  { name: '--max-semi-space-size=8', nodeArgs: '--max-semi-space-size=8' },
  { name: '--v8-pool-size=1', nodeArgs: '--v8-pool-size=1' },
  {
    name: 'arena 2 + semi-space 2 + pool 1',
    env: { MALLOC_ARENA_MAX: '2' },
    nodeArgs: '--max-semi-space-size=2 --v8-pool-size=1',
  },
];

const SETTLE_MS = Number(process.env.IDLE_SETTLE_MS ?? 10_000);

/** Resident kB by kind of mapping. */
function smapsBreakdown(pid: number): Record<string, number> {
  const kinds: Record<string, number> = {};
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      const start = BigInt(`0x${header[1]}`);
      const path = header[3] ?? '';
      if (path === '') {
        // glibc's per-thread arenas are mapped at 64 MiB boundaries (HEAP_MAX_SIZE).
        kind = start % (64n << 20n) === 0n ? 'anon: 64 MiB-aligned (malloc arenas)' : 'anon: other (V8 heap, mmap)';
      } else if (path.startsWith('[')) kind = path;
      else if (/\.node$/.test(path)) kind = `native addon ${path.split('/').at(-1)}`;
      else if (/\/node$/.test(path)) kind = 'node binary';
      else if (/\.so/.test(path)) kind = 'shared libraries';
      else kind = 'other files';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kinds[kind] = (kinds[kind] ?? 0) + Number(rss[1]);
  }
  return kinds;
}

async function metric(url: string, names: string[]): Promise<Record<string, number>> {
  const text = await fetch(`${url}/metrics`).then(
    (response) => response.text(),
    () => '',
  );
  const found: Record<string, number> = {};
  for (const line of text.split('\n')) {
    for (const name of names) {
      if (line.startsWith(`pizza_process_${name} `)) found[name] = Number(line.split(' ')[1]) / 2 ** 20;
    }
  }
  return found;
}

function measure(pid: number) {
  const memory = processMemory(pid);
  const threads = threadCount(pid);
  const smaps = Object.fromEntries(
    Object.entries(smapsBreakdown(pid))
      .filter(([, kb]) => kb >= 512)
      .sort(([, a], [, b]) => b - a)
      .map(([kind, kb]) => [kind, Math.round(kb / 102.4) / 10]),
  );
  return {
    rssMb: memory?.rssMb ?? Number.NaN,
    threads: threads?.threads,
    kafkaClients: threads?.kafkaClients,
    threadNames: threads?.byName,
    smapsMb: smaps,
  };
}

async function bare(args: string[], env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, [join(import.meta.dirname, 'idle-clients.mjs'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
    cwd: repoRoot,
  });
  await new Promise<void>((done, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('"ready"') && done());
    child.once('exit', (code) => fail(new Error(`idle-clients exited with ${code}`)));
  });
  const result = measure(child.pid as number);
  child.kill('SIGKILL');
  return result;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const broker = await startKafkaBroker();
  const work = mkdtempSync(join(tmpdir(), 'pizza-idle-'));
  const results: Record<string, unknown> = {};
  const show = (name: string, result: ReturnType<typeof measure> & { heap?: Record<string, number> }) => {
    results[name] = result;
    const heap = result.heap
      ? `, V8 heap used/total ${result.heap.nodejs_heap_size_used_bytes?.toFixed(0)}/${result.heap.nodejs_heap_size_total_bytes?.toFixed(0)} MB, external ${result.heap.nodejs_external_memory_bytes?.toFixed(0)} MB`
      : '';
    console.log(
      `${name}: RSS ${result.rssMb.toFixed(1)} MB, ${result.threads} threads, ${result.kafkaClients} rdk:main${heap}`,
    );
    console.log(`  ${JSON.stringify(result.smapsMb)}`);
    console.log(`  ${JSON.stringify(result.threadNames)}`);
  };
  try {
    let index = 0;
    const shopRun = async (variant: Variant) => {
      const saved = { ...process.env };
      Object.assign(process.env, variant.env ?? {}, {
        BENCH_KAFKA: variant.kafka ?? '',
        BENCH_NODE_ARGS: variant.nodeArgs ?? '',
      });
      const operatorPort = await freePort();
      index += 1;
      const shop = await startShop({
        bootstrapServers: broker.bootstrapServers,
        partitions: 4,
        processing: 'at-least-once',
        layout: 'all',
        workDir: join(work, `shop-${index}`),
        operatorPort,
      });
      process.env = saved;
      try {
        await sleep(SETTLE_MS);
        const pid = shop.pids.all as number;
        const heap = await metric(`http://127.0.0.1:${operatorPort}`, [
          'nodejs_heap_size_used_bytes',
          'nodejs_heap_size_total_bytes',
          'nodejs_external_memory_bytes',
          'process_resident_memory_bytes',
        ]);
        show(`pizza all: ${variant.name}`, { ...measure(pid), heap });
      } finally {
        await shop.stop();
      }
    };
    // The first shop creates the topics the bare consumers subscribe to.
    await shopRun(VARIANTS[0] as Variant);
    if (only.length === 0 || only.includes('bare')) {
      show('bare: node', await bare(['node']));
      show('bare: + the shop libraries', await bare(['libs']));
      for (const [consumers, producers] of [
        [1, 0],
        [4, 0],
        [12, 0],
        [0, 4],
      ] as const) {
        show(
          `bare: ${consumers} consumers, ${producers} producers`,
          await bare(['clients', broker.bootstrapServers, String(consumers), String(producers), 'pizza-ordered']),
        );
      }
      show(
        'bare: 12 consumers, MALLOC_ARENA_MAX=2',
        await bare(['clients', broker.bootstrapServers, '12', '0', 'pizza-ordered'], { MALLOC_ARENA_MAX: '2' }),
      );
    }
    for (const variant of VARIANTS.slice(1)) {
      if (only.length === 0 || only.includes(variant.name)) await shopRun(variant);
    }
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'idle-memory.json'), `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await broker.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
