import type { Logger } from 'pino';
import type { Bus } from '../adapters/bus/bus.js';
import { lineageSourceFor } from '../adapters/bus/lineage-source.js';
import type { ShopMetrics } from '../adapters/metrics/shop-metrics.js';
import type { Settings } from '../config/settings.js';
import { type LineageSource, ROLE_REPORT_TTL_MS } from '../lineage/observations.js';
import { lineagePlan, serviceOfGroup } from '../lineage/plan.js';

/**
 * Consumer lag per group, topic and partition for the metrics, from the same
 * observations as the lineage view (the admin API on Kafka, the bus itself
 * when embedded), taken when Prometheus scrapes: end offset minus committed.
 */
export function lagMetrics(options: { bus: Bus; settings: Settings; metrics: ShopMetrics; log: Logger }) {
  const { bus, settings, metrics, log } = options;
  const plan = lineagePlan(settings, { bus: bus.kind, reportTtlMs: ROLE_REPORT_TTL_MS });
  let source: Promise<LineageSource> | undefined;
  return {
    async refresh(): Promise<void> {
      source ??= lineageSourceFor(bus, settings, plan, log);
      const seen = await (await source).observe();
      const ends = new Map(
        seen.topics.flatMap((topic) =>
          topic.partitions.map((partition) => [`${topic.name}\u0000${partition.partition}`, partition] as const),
        ),
      );
      metrics.consumerLag.reset();
      for (const group of seen.groups) {
        if (!serviceOfGroup(plan, group.groupId)) continue;
        for (const committed of group.committed) {
          const partition = ends.get(`${committed.topic}\u0000${committed.partition}`);
          if (!partition) continue;
          const from = committed.offset >= 0 ? committed.offset : partition.start;
          metrics.consumerLag.set(
            { group: group.groupId, topic: committed.topic, partition: String(committed.partition) },
            Math.max(0, partition.end - from),
          );
        }
      }
    },
    async close(): Promise<void> {
      if (source) await (await source).close();
    },
  };
}
