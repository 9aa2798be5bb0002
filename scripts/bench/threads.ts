import { readdirSync, readFileSync } from 'node:fs';

/**
 * The threads of a process, by name (/proc/<pid>/task/<tid>/comm). librdkafka
 * names its threads `rdk:main` (one per client), `rdk:broker<id>` (one per
 * broker connection, bootstrap included) and `rdk:bg`; Node's own are `node`
 * (the main one), `V8 Worker`/`libuv-worker` and friends.
 */
export interface ThreadCount {
  /** Every thread of the process. */
  threads: number;
  /** librdkafka clients: each has exactly one `rdk:main` thread. */
  kafkaClients: number;
  /** librdkafka's threads of any kind (`rdk:*`). */
  kafkaThreads: number;
  /** How many threads carry each name. */
  byName: Record<string, number>;
}

export function threadCount(pid: number): ThreadCount | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined; // gone
  }
  const byName: Record<string, number> = {};
  for (const task of tasks) {
    let name: string;
    try {
      name = readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim();
    } catch {
      continue; // the thread ended while we looked
    }
    byName[name] = (byName[name] ?? 0) + 1;
  }
  const names = Object.entries(byName);
  const sum = (keep: (name: string) => boolean) =>
    names.filter(([name]) => keep(name)).reduce((total, [, count]) => total + count, 0);
  return {
    threads: sum(() => true),
    kafkaClients: byName['rdk:main'] ?? 0,
    kafkaThreads: sum((name) => name.startsWith('rdk:')),
    byName: Object.fromEntries(names.sort(([a], [b]) => a.localeCompare(b))),
  };
}
