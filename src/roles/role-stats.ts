import type { Logger } from 'pino';
import type { Bus, HostReaderState } from '../adapters/bus/bus.js';
import type { ShopMetrics } from '../adapters/metrics/shop-metrics.js';
import type { RoleName, Settings } from '../config/settings.js';
import { PizzaError } from '../errors.js';
import { ROLE_REPORT_INTERVAL_MS, type RoleReport, roleReportKey } from '../lineage/observations.js';
import { resolveHostId } from './host.js';

export interface RoleStatsDeps {
  bus: Bus;
  settings: Settings;
  metrics: ShopMetrics;
  roles: readonly RoleName[];
  log: Logger;
  intervalMs?: number;
  now?: () => number;
}

/**
 * This process's reports, one per role, from its metrics: work in flight and
 * capacity, and where the role's host readers have read to (they have no
 * consumer group whose committed offsets would say it).
 */
export async function roleReports(
  deps: Pick<RoleStatsDeps, 'metrics' | 'roles'>,
  host: string,
  at: number,
  readers: readonly HostReaderState[] = [],
) {
  const [inFlight, capacity] = await Promise.all([deps.metrics.inFlight.get(), deps.metrics.capacity.get()]);
  const value = (values: typeof inFlight.values, role: string) =>
    Math.max(0, Math.round(values.find((entry) => entry.labels.role === role)?.value ?? 0));
  return deps.roles.map(
    (role): RoleReport => ({
      role,
      host,
      pid: process.pid,
      inFlight: value(inFlight.values, role),
      capacity: value(capacity.values, role),
      at,
      readers: readers
        .filter((reader) => reader.role === role)
        .map((reader) => ({
          id: reader.id,
          positions: reader.positions.map(({ topic, partition, offset }) => ({
            topic,
            partition,
            offset: Number(offset),
          })),
        })),
    }),
  );
}

/**
 * Publishes each role's work in flight against its capacity every few seconds
 * to the stats topic, for the lineage view on any host: Kafka's own metadata
 * knows offsets and members, not what a member is working on. On stop, a null
 * value per key says this process is gone. Only on Kafka: the embedded bus
 * gives the lineage view these figures itself. Without the topic nothing is
 * published, and the view says so.
 */
export async function startRoleStats(deps: RoleStatsDeps): Promise<{ stop(): Promise<void> } | undefined> {
  const { bus, settings, log } = deps;
  if (bus.kind !== 'kafka') return undefined;
  const topic = settings.topics.roleStats;
  try {
    await bus.requireTopics([topic]);
  } catch (error) {
    if (!(error instanceof PizzaError && error.code === 'TOPICS_MISSING')) throw error;
    log.warn(
      { topic },
      `the role stats topic does not exist, so the lineage view shows no work in flight: ${error.message}`,
    );
    return undefined;
  }
  const now = deps.now ?? Date.now;
  const host = resolveHostId(settings);
  const publishAll = async () => {
    for (const report of await roleReports(deps, host, now(), bus.hostReaders())) {
      await bus.publish(topic, roleReportKey(report), Buffer.from(JSON.stringify(report)));
    }
  };
  let sending: Promise<void> = Promise.resolve();
  const tick = () => {
    sending = sending
      .then(publishAll)
      .catch((err: unknown) => log.debug({ err, topic }, 'could not publish role stats; trying again'));
  };
  tick();
  const timer = setInterval(tick, deps.intervalMs ?? ROLE_REPORT_INTERVAL_MS);
  timer.unref();
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        await sending;
        await Promise.all(
          deps.roles.map((role) =>
            bus.publish(topic, roleReportKey({ role, host, pid: process.pid }), null).catch(() => {}),
          ),
        );
      })();
      return stopping;
    },
  };
}
