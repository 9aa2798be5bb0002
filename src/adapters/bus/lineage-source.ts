import type { Logger } from 'pino';
import type { Settings } from '../../config/settings.js';
import type { LineageSource } from '../../lineage/observations.js';
import type { LineagePlan } from '../../lineage/plan.js';
import type { Bus } from './bus.js';
import { EmbeddedBus } from './embedded.js';
import { embeddedLineageSource } from './embedded-lineage.js';

/** The bus's own figures on the embedded bus; the admin API and the stats topic on Kafka. */
export async function lineageSourceFor(
  bus: Bus,
  settings: Settings,
  plan: LineagePlan,
  log: Logger,
): Promise<LineageSource> {
  if (bus instanceof EmbeddedBus) return embeddedLineageSource(bus);
  if (bus.kind === 'kafka') {
    const { kafkaLineageSource } = await import('../kafka/kafka-lineage-source.js');
    return kafkaLineageSource({ settings, plan, log, bus });
  }
  throw new Error('this bus has no lineage to show');
}
