import { readdirSync, readFileSync } from 'node:fs';
import { processTree } from './memory.js';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system, every thread) a process has used so far; 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** A process and everything it started. */
export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + processCpuSeconds(each), 0);
}

/** The pid of the process whose command line contains `needle` (the broker's JVM, say). */
export function findProcess(needle: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) return Number(entry);
    } catch {
      // gone while we looked
    }
  }
  return undefined;
}

/** CPU used by each part between `start()` and `stop()`, in milliseconds per order. */
export interface CpuPerOrder {
  shopMs: number;
  brokerMs: number;
  loadMs: number;
  totalMs: number;
  /** What the machine's cores could do if the three parts were all that ran, and CPU the only limit. */
  cpuBoundOrdersPerSecond: number;
}

export class CpuMeter {
  private before = { shop: 0, broker: 0, load: 0 };

  constructor(
    private readonly shopPids: readonly number[],
    private readonly brokerPid: number | undefined,
  ) {}

  private read() {
    const load = process.cpuUsage();
    return {
      shop: this.shopPids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0),
      broker: this.brokerPid === undefined ? Number.NaN : processCpuSeconds(this.brokerPid),
      load: (load.user + load.system) / 1e6,
    };
  }

  start(): this {
    this.before = this.read();
    return this;
  }

  stop(orders: number, cores: number): CpuPerOrder {
    const after = this.read();
    const perOrder = (part: 'shop' | 'broker' | 'load') => ((after[part] - this.before[part]) * 1000) / orders;
    const shopMs = perOrder('shop');
    const brokerMs = perOrder('broker');
    const loadMs = perOrder('load');
    const totalMs = shopMs + brokerMs + loadMs;
    return { shopMs, brokerMs, loadMs, totalMs, cpuBoundOrdersPerSecond: (cores * 1000) / totalMs };
  }
}
