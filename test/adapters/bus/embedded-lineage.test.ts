import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../../src/adapters/bus/embedded.js';
import { embeddedLineageSource } from '../../../src/adapters/bus/embedded-lineage.js';
import { buildLineage } from '../../../src/lineage/model.js';
import { lineagePlan } from '../../../src/lineage/plan.js';
import { LINEAGE_SETTINGS } from '../../support/lineage.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('lineage of the embedded bus', () => {
  it("counts the web app's log and session readers of one process as one web instance (issue 21)", async () => {
    const bus = new EmbeddedBus({ partitions: 2 });
    cleanups.push(() => bus.close());
    for (const [id, topic] of [
      ['pizza_status-logs.host.embedded', 'pizza-logs'],
      ['pizza_status-sessions.host.embedded', 'pizza-sessions'],
    ] as const) {
      const reader = await bus.read({
        id,
        topics: [topic],
        startAt: () => [],
        handle: async () => {},
        capacity: 1,
        role: 'serve',
        log: pino({ level: 'silent' }),
      });
      cleanups.push(() => reader.stop());
    }
    const plan = lineagePlan(LINEAGE_SETTINGS, { bus: 'embedded', reportTtlMs: 15_000 });
    const model = buildLineage(await embeddedLineageSource(bus).observe(), plan);
    const web = model.services.find((service) => service.name === 'web');
    expect(web?.groups.map((group) => group.groupId)).toEqual([
      'pizza_status-logs.host.embedded',
      'pizza_status-sessions.host.embedded',
    ]);
    expect(web?.instances).toBe(1);
  });
});
