import { describe, expect, it, onTestFinished } from 'vitest';
import type { RoleName, Settings } from '../../src/config/settings.js';
import { type RunningShop, startShop } from '../../src/roles/shop.js';
import { capturingLogs } from '../support/capture-logs.js';
import { createShopTopics, kafkaTestSettings, recordCount } from '../support/kafka.js';
import { openOrders, placeOrder, sampleOrder, silentLogs, waitFor } from '../support/shop.js';

const ORDERS = 200;

async function instance(settings: Settings, roles: RoleName[], logs = silentLogs()): Promise<RunningShop> {
  const running = await startShop({ settings, roles, logs });
  onTestFinished(() => running.stop());
  return running;
}

describe('scaling out on Kafka', () => {
  it('shares the baking between two instances in one group: every order delivered, each baked once', async () => {
    const settings = kafkaTestSettings({ partitions: 4, flags: { timeScale: '0.001' } });
    await createShopTopics(settings);
    const front = await instance(settings, ['assemble', 'deliver', 'status']);
    const ovens = [capturingLogs(), capturingLogs()];
    // Each subscribe returns once its member is in the group, so both share the partitions before any order.
    for (const logs of ovens) await instance(settings, ['bake'], logs);

    const orders = await Promise.all(
      Array.from({ length: ORDERS }, () => placeOrder(front.bus, settings, sampleOrder())),
    );
    const ids = orders.map((order) => order.orderId);
    await waitFor(
      () => {
        const store = openOrders(settings);
        try {
          return ids.every((id) => store.getStatus(id)?.status === 999);
        } finally {
          store.close();
        }
      },
      `all ${ORDERS} orders delivered`,
      120_000,
    );

    expect(await recordCount(settings.topics.baked)).toBe(ORDERS);
    const bakedBy = ovens.map((logs) =>
      logs.lines.filter((line) => line.msg === 'pizza baked, ready for delivery').map((line) => line.orderId),
    );
    expect(bakedBy[0]?.length).toBeGreaterThan(0);
    expect(bakedBy[1]?.length).toBeGreaterThan(0);
    expect(new Set([...(bakedBy[0] ?? []), ...(bakedBy[1] ?? [])]).size).toBe(ORDERS);
    expect((bakedBy[0]?.length ?? 0) + (bakedBy[1]?.length ?? 0)).toBe(ORDERS);
  });
});
