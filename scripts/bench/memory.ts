import { readdirSync, readFileSync } from 'node:fs';

/**
 * Memory of a process and of everything it started. Linux keeps two figures
 * per process: VmRSS (now) and VmHWM (the peak since it started). A tree's
 * "peak" here is the sum of each process's own peak: an upper bound of the
 * tree's true peak, which no single reading can give once children have come
 * and gone.
 */
export interface ProcessMemory {
  pid: number;
  rssMb: number;
  peakMb: number;
}

export interface TreeMemory {
  /** The process that was started (`pizza all`, or one role). */
  main: ProcessMemory;
  /** It and every descendant, summed. */
  treeRssMb: number;
  treePeakMb: number;
  processes: ProcessMemory[];
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined; // gone already
  }
}

/** The pids a process started, from every one of its threads' `children` list. */
function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children = new Set<number>();
  for (const task of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) {
        if (child) children.add(Number(child));
      }
    } catch {
      // the thread ended while we looked
    }
  }
  return [...children];
}

/** A process and its descendants, parents before children. */
export function processTree(pid: number): number[] {
  const seen: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    if (seen.includes(next)) continue;
    seen.push(next);
    queue.push(...childrenOf(next));
  }
  return seen;
}

export function processMemory(pid: number): ProcessMemory | undefined {
  const rss = statusKb(pid, 'VmRSS');
  const peak = statusKb(pid, 'VmHWM');
  if (rss === undefined || peak === undefined) return undefined;
  return { pid, rssMb: rss / 1024, peakMb: peak / 1024 };
}

export function treeMemory(pid: number): TreeMemory {
  const processes = processTree(pid).flatMap((each) => processMemory(each) ?? []);
  const main = processes.find((each) => each.pid === pid) ?? { pid, rssMb: 0, peakMb: 0 };
  return {
    main,
    treeRssMb: processes.reduce((sum, each) => sum + each.rssMb, 0),
    treePeakMb: processes.reduce((sum, each) => sum + each.peakMb, 0),
    processes,
  };
}

export interface MemorySample {
  /** Seconds since the sampler's origin. */
  t: number;
  /** RSS of each watched process's main pid, by name. */
  rssMb: Record<string, number>;
  /** Sum over every watched process tree. */
  totalRssMb: number;
}

/**
 * Reads RSS of named process trees every `intervalMs` and keeps the peaks it
 * can only read while they run (call `peaks()` before stopping them).
 */
export class MemorySampler {
  readonly samples: MemorySample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pids: Record<string, number>,
    private readonly origin: number,
    private readonly intervalMs = 1_000,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  sample(): MemorySample {
    const rssMb: Record<string, number> = {};
    let totalRssMb = 0;
    for (const [name, pid] of Object.entries(this.pids)) {
      const tree = treeMemory(pid);
      rssMb[name] = tree.main.rssMb;
      totalRssMb += tree.treeRssMb;
    }
    const sample = { t: (Date.now() - this.origin) / 1000, rssMb, totalRssMb };
    this.samples.push(sample);
    return sample;
  }

  /** Each watched tree's memory now, its peaks included. */
  peaks(): Record<string, TreeMemory> {
    return Object.fromEntries(Object.entries(this.pids).map(([name, pid]) => [name, treeMemory(pid)]));
  }
}
