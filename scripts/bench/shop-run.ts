import { cpus } from 'node:os';
import { CpuMeter, type CpuPerOrder } from './cpu.js';
import { closedLoop, customers, DeliveryWatch, type LoadRun, openLoop, PIZZA } from './load.js';
import { type MemorySample, MemorySampler, processMemory } from './memory.js';
import { perSecond, type SecondBin } from './series.js';
import type { Processing, ShopBus, ShopProcesses } from './shop-process.js';
import { type ThreadCount, threadCount } from './threads.js';
import { percentile, sleep, sortedNumbers } from './util.js';

export interface ShopRunOptions {
  orders: number;
  clients: number;
  rate: number;
  seconds: number;
  /** The second, high-rate latency phase; 0 seconds leaves it out. */
  highRate: number;
  highSeconds: number;
  /** How long the high-rate phase's last orders may take to arrive before the rest count as undelivered. */
  highDrainSeconds: number;
  /** The quiet wait after start before the idle RSS is read. */
  idleSettleSeconds: number;
}

/** Latency at an offered rate, open loop: from each POST to "delivered" in the view. */
export interface LatencyPhase {
  offeredPerSecond: number;
  /** What the load generator managed to send: POSTs over the time until the last one went out. */
  achievedOfferPerSecond: number;
  orders: number;
  /** POSTs that failed, not counted in `orders`. */
  failed: number;
  delivered: number;
  /** Delivered orders over the time from the first POST to the last delivery. */
  deliveredPerSecond: number;
  /** Percentiles of the delivered orders only: undelivered ones are counted in `orders - delivered`. */
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** One shop measured: the same phases whichever bus and processing mode. */
export interface ShopRun {
  name: string;
  bus: ShopBus;
  processing: Processing;
  throughput: {
    orders: number;
    customers: number;
    acceptedPerSecond: number;
    deliveredPerSecond: number;
    seconds: number;
    /** CPU time per order during the sustained phase: a figure a noisy machine changes little. */
    cpuPerOrder: CpuPerOrder;
  };
  latency: LatencyPhase;
  highRate?: LatencyPhase | undefined;
  memory: {
    /** VmRSS of `pizza all` after start and a quiet settle, before any load. */
    idleRssMb: number;
    /** VmHWM of the `pizza all` process. */
    peakRssMb: number;
    /** The sum of VmHWM over it and every process it started. */
    treePeakMb: number;
    processes: number;
  };
  /** Threads and librdkafka clients (`rdk:main` threads) of `pizza all`: when idle, and the most seen under load. */
  threads: { idle?: ThreadCount | undefined; peak?: ThreadCount | undefined };
  /** Seconds since the sustained phase began, as the report's charts count them. */
  phases: { sustained: [number, number]; latency: [number, number]; highRate?: [number, number] | undefined };
  series: SecondBin[];
  memorySamples: MemorySample[];
}

function latencyPhase(
  run: LoadRun,
  offered: number,
  delivered: ReadonlyMap<string, number>,
): { figures: LatencyPhase; lastDelivered: number } {
  const done = run.placed.filter((order) => delivered.has(order.orderId));
  const latencies = sortedNumbers(done.map((order) => (delivered.get(order.orderId) as number) - order.sentAt));
  const lastDelivered = Math.max(run.startedAt, ...done.map((order) => delivered.get(order.orderId) as number));
  const figures: LatencyPhase = {
    offeredPerSecond: offered,
    achievedOfferPerSecond: (run.placed.length + run.failed) / (Math.max(1, run.sentUntil - run.startedAt) / 1000),
    orders: run.placed.length,
    failed: run.failed,
    delivered: done.length,
    deliveredPerSecond: done.length / ((lastDelivered - run.startedAt) / 1000),
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
  };
  return { figures, lastDelivered };
}

/**
 * Measures a started shop: idle RSS and threads, then sustained throughput
 * (closed loop), latency at `rate` and at `highRate` (open loop). `brokerPid`
 * is the broker's JVM, for its CPU per order (none on the embedded bus).
 */
export async function measureShop(
  shop: ShopProcesses,
  identity: { name: string; bus: ShopBus; processing: Processing },
  options: ShopRunOptions,
  brokerPid: number | undefined,
  log: (line: string) => void,
): Promise<ShopRun> {
  const mainPid = Object.values(shop.pids)[0] as number;
  await sleep(options.idleSettleSeconds * 1000);
  const idleRssMb = processMemory(mainPid)?.rssMb ?? Number.NaN;
  const idleThreads = threadCount(mainPid);
  log(
    `  idle: RSS ${idleRssMb.toFixed(0)} MB, ${idleThreads?.threads} threads, ${idleThreads?.kafkaClients} Kafka clients`,
  );

  let peakThreads = idleThreads;
  const threadTimer = setInterval(() => {
    const now = threadCount(mainPid);
    if (now && (!peakThreads || now.threads > peakThreads.threads)) peakThreads = now;
  }, 1_000);
  const clients = await customers(shop.baseUrl, options.clients);
  const watch = new DeliveryWatch(shop.dbFile);
  try {
    // Warm-up: the consumer groups have joined and the code paths are compiled.
    await watch.waitFor(await Promise.all(clients.map((client) => client.order(PIZZA))), 60_000);

    // 1. Sustained throughput: closed loop, each customer orders again as soon as the last one is accepted.
    log(`  placing ${options.orders} orders with ${options.clients} customers...`);
    const origin = Date.now();
    const sampler = new MemorySampler(shop.pids, origin).start();
    const cpu = new CpuMeter(Object.values(shop.pids), brokerPid).start();
    const sustained = await closedLoop(clients, options.orders);
    const acceptedSeconds = (sustained.endedAt - sustained.startedAt) / 1000;
    await watch.waitFor(
      sustained.placed.map((order) => order.orderId),
      300_000,
    );
    const lastDelivered = Math.max(...sustained.placed.map((order) => watch.delivered.get(order.orderId) ?? 0));
    const sustainedSeconds = (lastDelivered - sustained.startedAt) / 1000;
    const cpuPerOrder = cpu.stop(options.orders, cpus().length);

    // 2. Latency at a fixed offered rate: open loop, orders go out on schedule whatever the answers.
    log(`  offering ${options.rate} orders/s for ${options.seconds} s...`);
    const offered = await openLoop(clients, options.rate, options.seconds);
    await watch.waitFor(
      offered.placed.map((order) => order.orderId),
      300_000,
    );
    const latency = latencyPhase(offered, options.rate, watch.delivered);
    if (offered.failed > 0) log(`  ${offered.failed} POSTs failed, the first: ${offered.firstError}`);

    // 3. The same at a high rate; a shop that cannot keep up is reported as it is, not waited for forever.
    let highRun: LoadRun | undefined;
    if (options.highSeconds > 0 && options.highRate > 0) {
      log(`  offering ${options.highRate} orders/s for ${options.highSeconds} s...`);
      highRun = await openLoop(clients, options.highRate, options.highSeconds);
      if (highRun.failed > 0) log(`  ${highRun.failed} POSTs failed, the first: ${highRun.firstError}`);
      const ids = highRun.placed.map((order) => order.orderId);
      const deadline = Date.now() + options.highDrainSeconds * 1000;
      while (watch.missing(ids) > 0 && Date.now() < deadline) await sleep(100);
    }
    sampler.sample();
    sampler.stop();
    const memory = Object.values(sampler.peaks())[0];
    const high = highRun && latencyPhase(highRun, options.highRate, watch.delivered);
    const seconds = (at: number) => (at - origin) / 1000;
    return {
      ...identity,
      throughput: {
        orders: options.orders,
        customers: options.clients,
        acceptedPerSecond: options.orders / acceptedSeconds,
        deliveredPerSecond: options.orders / sustainedSeconds,
        seconds: sustainedSeconds,
        cpuPerOrder,
      },
      latency: latency.figures,
      highRate: high?.figures,
      memory: {
        idleRssMb,
        peakRssMb: memory?.main.peakMb ?? Number.NaN,
        treePeakMb: memory?.treePeakMb ?? Number.NaN,
        processes: memory?.processes.length ?? 0,
      },
      threads: { idle: idleThreads, peak: peakThreads },
      phases: {
        sustained: [0, seconds(lastDelivered)],
        latency: [seconds(offered.startedAt), seconds(latency.lastDelivered)],
        highRate: highRun && high ? [seconds(highRun.startedAt), seconds(high.lastDelivered)] : undefined,
      },
      series: perSecond([...sustained.placed, ...offered.placed, ...(highRun?.placed ?? [])], watch.delivered, origin),
      memorySamples: sampler.samples,
    };
  } finally {
    clearInterval(threadTimer);
    watch.close();
  }
}
