import pino from 'pino';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createKafkaBus } from '../../../src/adapters/kafka/kafka-bus.js';
import { kafkaLineageSource } from '../../../src/adapters/kafka/kafka-lineage-source.js';
import type { Settings } from '../../../src/config/settings.js';
import { buildLineage, type LineageModel, type LineageSample } from '../../../src/lineage/model.js';
import { ROLE_REPORT_TTL_MS } from '../../../src/lineage/observations.js';
import { lineagePlan } from '../../../src/lineage/plan.js';
import { startShop } from '../../../src/roles/shop.js';
import { createShopTopics, kafkaTestSettings } from '../../support/kafka.js';
import { silentLogs } from '../../support/shop.js';

const quiet = pino({ level: 'silent' });

/** Reads the lineage until `settled` holds; never trusts a first read, since offsets and members arrive late. */
async function lineageWhen(
  settings: Settings,
  settled: (model: LineageModel) => boolean,
  what: string,
  timeoutMs = 45_000,
): Promise<LineageModel> {
  const plan = lineagePlan(settings, { bus: 'kafka', reportTtlMs: ROLE_REPORT_TTL_MS });
  const source = kafkaLineageSource({ settings, plan, log: quiet });
  onTestFinished(() => source.close());
  let previous: LineageSample | undefined;
  return vi.waitFor(
    async () => {
      const model = buildLineage(await source.observe(), plan, previous);
      previous = model.sample;
      if (!settled(model)) throw new Error(`timed out waiting for ${what}; last model:\n${JSON.stringify(model)}`);
      return model;
    },
    { timeout: timeoutMs, interval: 300 },
  );
}

const serviceOf = (model: LineageModel, name: string) => model.services.find((service) => service.name === name);

describe('lineage from the Kafka admin API', () => {
  it('shows the end offsets of what was produced and the lag of what a group has not consumed', async () => {
    const settings = kafkaTestSettings({ partitions: 2 });
    await createShopTopics(settings);
    const bus = await createKafkaBus({ settings, log: quiet, shutdownGraceMs: 100 });
    onTestFinished(() => bus.close());

    const produced = 20;
    const deliveries = await Promise.all(
      Array.from({ length: produced }, (_, index) =>
        bus.publish(settings.topics.assembled, `key-${index}`, Buffer.from('{}')),
      ),
    );
    // Per partition, the group finishes the first half of the records and sits on the rest:
    // commits stop at the first unfinished record, so exactly `consumed` are committed.
    const perPartition = new Map<number, number>();
    for (const delivery of deliveries)
      perPartition.set(delivery.partition, (perPartition.get(delivery.partition) ?? 0) + 1);
    const doneBelow = new Map([...perPartition].map(([partition, count]) => [partition, Math.floor(count / 2)]));
    const consumed = [...doneBelow.values()].reduce((sum, count) => sum + count, 0);

    const subscription = await bus.subscribe({
      groupId: settings.groupIds.bake,
      clientId: 'lineage-test',
      topics: [settings.topics.assembled],
      capacity: produced,
      role: 'bake',
      log: quiet,
      handle: async (record, signal) => {
        if (Number(record.offset) < (doneBelow.get(record.partition) ?? 0)) return;
        await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
    });
    onTestFinished(() => subscription.stop());

    const model = await lineageWhen(
      settings,
      (candidate) => serviceOf(candidate, 'bake')?.lag === produced - consumed,
      `bake's lag to settle at ${produced - consumed}`,
    );
    const assembled = model.topics.find((topic) => topic.name === settings.topics.assembled);
    expect(assembled).toMatchObject({ total: produced, partitions: 2, exists: true });
    const bake = serviceOf(model, 'bake');
    expect(bake?.instances).toBe(1);
    const partitions = bake?.groups[0]?.topics[0]?.partitions ?? [];
    expect(partitions.map((partition) => partition.lag)).toEqual(
      [...perPartition.keys()]
        .sort()
        .map((partition) => (perPartition.get(partition) ?? 0) - (doneBelow.get(partition) ?? 0)),
    );
    expect(partitions.reduce((sum, partition) => sum + partition.end, 0)).toBe(produced);
    // Nothing reported work in flight (no role runs here), so all of the lag counts as waiting.
    expect(model.bottleneck).toMatchObject({ service: 'bake', waiting: produced - consumed });
  });

  it('shows a second instance of a role as a second member, with both reports of work in flight', async () => {
    const settings = kafkaTestSettings({ partitions: 2 });
    await createShopTopics(settings);
    const first = await startShop({ settings, roles: ['bake'], logs: silentLogs() });
    onTestFinished(() => first.stop());
    // Another host: its reports carry another key, as they would from another machine.
    const secondSettings = { ...settings, shop: { ...settings.shop, hostId: 'second-oven' } };
    const second = await startShop({ settings: secondSettings, roles: ['bake'], logs: silentLogs() });
    onTestFinished(() => second.stop());

    const capacity = settings.shop.capacity.bake;
    const both = await lineageWhen(
      settings,
      (model) => serviceOf(model, 'bake')?.instances === 2 && serviceOf(model, 'bake')?.capacity === 2 * capacity,
      'two bake members and two reports',
    );
    expect(serviceOf(both, 'bake')).toMatchObject({ inFlight: 0, busy: `0 of ${2 * capacity} ovens busy` });
    expect(serviceOf(both, 'bake')?.groups.map((group) => group.groupId)).toEqual([settings.groupIds.bake]);

    // A clean stop leaves the group and withdraws its report at once, without waiting for a timeout.
    await second.stop();
    await lineageWhen(
      settings,
      (model) => serviceOf(model, 'bake')?.instances === 1 && serviceOf(model, 'bake')?.capacity === capacity,
      'one bake member and one report after a clean stop',
    );
  });
});
