/**
 * Replacing the workshop's Python bake service with ours on a topic that has
 * history. The workshop names its consumer groups with a host suffix
 * (`pizza_bake_<hostname>`); ours come from the settings, the same on every
 * host. A newcomer in a group of its own starts from the earliest retained
 * record and bakes every pizza again; set `[kafka-consumer-group-id]
 * microservice_baked` to the Python service's group and ours carries on from
 * where the Python service committed.
 */
import { hostname } from 'node:os';
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { KafkaClients } from '../../src/adapters/kafka/client.js';
import type { Settings } from '../../src/config/settings.js';
import { startShop } from '../../src/roles/shop.js';
import { capturingLogs } from '../support/capture-logs.js';
import {
  createShopTopics,
  kafkaBootstrap,
  kafkaTestSettings,
  rawProducer,
  readTopic,
  waitForGroupCommitted,
} from '../support/kafka.js';
import { waitFor } from '../support/shop.js';

const PARTITIONS = 2;
const BEFORE = 6;
const AFTER = 6;

/** What the workshop's assemble service writes to pizza-assembled, byte for byte its Python json.dumps. */
async function assemble(settings: Settings, orderIds: string[]): Promise<void> {
  const producer = await rawProducer();
  await producer.send({
    topic: settings.topics.assembled,
    messages: orderIds.map((orderId) => ({
      key: orderId,
      value: JSON.stringify({ status: 200, baking_time: 8, timestamp: Date.now() }),
    })),
  });
}

/**
 * The Python bake service, as far as Kafka sees it: a member of its
 * host-suffixed group that reads `count` records, commits past them and leaves.
 * Returns the order ids it read.
 */
async function pythonBakeService(settings: Settings, groupId: string, count: number): Promise<string[]> {
  const kafka = new KafkaClients({ 'bootstrap.servers': kafkaBootstrap() }, pino({ level: 'silent' }));
  const consumer = kafka.consumer(
    kafka.config({}, { 'group.id': groupId, 'auto.offset.reset': 'earliest', 'enable.auto.commit': false }),
  );
  await consumer.connect();
  const seen: Array<{ key: string; partition: number; offset: string }> = [];
  try {
    await consumer.subscribe({ topics: [settings.topics.assembled] });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ key: message.key?.toString('utf8') ?? '', partition, offset: message.offset });
      },
    });
    await waitFor(() => seen.length >= count, `the Python service to read ${count} records`);
    const next = new Map<number, number>();
    for (const { partition, offset } of seen)
      next.set(partition, Math.max(next.get(partition) ?? 0, Number(offset) + 1));
    await consumer.commitOffsets(
      [...next].map(([partition, offset]) => ({ topic: settings.topics.assembled, partition, offset: String(offset) })),
    );
  } finally {
    await consumer.disconnect();
  }
  return seen.map((record) => record.key);
}

function orderIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}${String(index).padStart(7, '0')}`);
}

/** Runs our bake role until `expected` pizzas are baked and it has read every record, to catch any extra; returns the baked ids. */
async function bakeWithOurs(settings: Settings, expected: number): Promise<string[]> {
  const logs = capturingLogs();
  const shop = await startShop({ settings, roles: ['bake'], logs });
  onTestFinished(() => shop.stop());
  const baked = () =>
    logs.lines.filter((line) => line.msg === 'pizza baked, ready for delivery').map((line) => line.orderId ?? '');
  await waitFor(() => baked().length >= expected, `${expected} pizzas baked`, 30_000);
  await waitForGroupCommitted(settings.groupIds.bake, [settings.topics.assembled]);
  await shop.stop();
  return baked();
}

describe("taking over the workshop's Python bake service on Kafka", () => {
  it("carries on from the Python service's committed offsets when given its group id: nothing baked twice, nothing missed", async () => {
    const settings = kafkaTestSettings({ partitions: PARTITIONS, flags: { timeScale: '0' } });
    await createShopTopics(settings);
    const pythonGroup = `${settings.groupIds.bake}_${hostname()}`;

    const history = orderIds('a', BEFORE);
    await assemble(settings, history);
    const readByPython = await pythonBakeService(settings, pythonGroup, BEFORE);
    expect(readByPython.sort()).toEqual([...history].sort());

    // Orders placed while the Python service is gone and ours is not started yet.
    const newer = orderIds('b', AFTER);
    await assemble(settings, newer);

    const baked = await bakeWithOurs({ ...settings, groupIds: { ...settings.groupIds, bake: pythonGroup } }, AFTER);
    expect(baked.filter((id) => history.includes(id))).toEqual([]);
    expect([...baked].sort()).toEqual([...newer].sort());
    const onTopic = await readTopic(settings.topics.baked, AFTER);
    expect(onTopic.map((record) => record.key).sort()).toEqual([...newer].sort());
  });

  it('bakes the whole retained history again when started in a group of its own, as by default', async () => {
    const settings = kafkaTestSettings({ partitions: PARTITIONS, flags: { timeScale: '0' } });
    await createShopTopics(settings);
    const history = orderIds('c', BEFORE);
    await assemble(settings, history);
    await pythonBakeService(settings, `${settings.groupIds.bake}_${hostname()}`, BEFORE);
    const newer = orderIds('d', AFTER);
    await assemble(settings, newer);

    const baked = await bakeWithOurs(settings, BEFORE + AFTER);
    expect([...baked].sort()).toEqual([...history, ...newer].sort());
  });
});
