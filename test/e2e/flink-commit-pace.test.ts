import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { KafkaClients } from '../../src/adapters/kafka/client.js';
import { startShop } from '../../src/roles/shop.js';
import { createShopTopics, kafkaBootstrap, kafkaTestSettings, randomName } from '../support/kafka.js';
import { silentLogs, viewStatus, waitFor } from '../support/shop.js';

/**
 * Confluent Cloud's Flink writes pizza-status in transactions it commits
 * about once a minute. The status view must not wait for the commit: it
 * reads uncommitted records (issue 12, item 7).
 */
describe('pizza-status written in slow transactions, as Confluent Cloud’s Flink does', () => {
  it('shows each status long before its transaction commits', async () => {
    const base = kafkaTestSettings();
    const settings = { ...base, shop: { ...base.shop, statusSource: 'pizza-status' as const } };
    await createShopTopics(settings);
    const running = await startShop({ settings, roles: ['status'], logs: silentLogs() });
    onTestFinished(() => running.stop());

    const clients = new KafkaClients({ 'bootstrap.servers': kafkaBootstrap() }, pino({ level: 'silent' }));
    const producer = clients.producer(
      clients.config({ 'transactional.id': randomName('flink-like'), partitioner: 'murmur2_random' }),
    );
    await producer.connect();
    onTestFinished(() => producer.disconnect());

    const orderId = '5107f11c';
    const row = (status: number, timestamp: number) => ({
      key: orderId,
      value: Buffer.from(JSON.stringify({ status, timestamp })),
    });
    const now = Date.now();
    const transaction = await producer.transaction();
    await transaction.send({ topic: settings.topics.status, messages: [row(100, now), row(200, now + 1)] });
    const sentAt = Date.now();
    // The transaction stays open, as Flink's does between checkpoints.
    await waitFor(() => viewStatus(settings, orderId) === 200, 'the status from an open transaction', 10_000);
    const seenAfterMs = Date.now() - sentAt;
    // Still open a while after it was seen, as between Flink's checkpoints: on purpose, not a wait for anything.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await transaction.commit();
    expect(seenAfterMs).toBeLessThan(10_000);
    expect(viewStatus(settings, orderId)).toBe(200);
  });
});
