import pino from 'pino';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { KafkaClients } from '../../../src/adapters/kafka/client.js';
import { createKafkaBus } from '../../../src/adapters/kafka/kafka-bus.js';
import { TransactionalSender } from '../../../src/adapters/kafka/transactions.js';
import {
  createTopics,
  kafkaBootstrap,
  kafkaTestSettings,
  randomName,
  rawProducer,
  readTopic,
} from '../../support/kafka.js';

const log = pino({ level: 'silent' });

describe('exactly-once offsets on a real broker', () => {
  it('commits offset metadata in the transaction, and the group reads it back', async () => {
    const topic = randomName('metadata');
    const output = randomName('metadata-out');
    await createTopics([topic, output], 2);
    const groupId = randomName('group');
    const clients = new KafkaClients({ 'bootstrap.servers': kafkaBootstrap() }, log);
    const consumer = clients.consumer(clients.config({}, { 'group.id': groupId, 'enable.auto.commit': false }));
    const producer = clients.producer(
      clients.config({ 'client.id': 'metadata-test' }, { 'transactional.id': randomName('txn') }),
    );
    const reader = clients.consumer(clients.config({}, { 'group.id': groupId, 'enable.auto.commit': false }));
    await Promise.all([consumer.connect(), producer.connect(), reader.connect()]);
    const sender = new TransactionalSender({
      producer,
      renew: () => Promise.reject(new Error('no replacement in this test')),
      log,
      stopping: () => false,
    });
    try {
      await sender.send(
        consumer,
        [{ topic: output, key: 'k', value: Buffer.from('{}') }],
        [
          { topic, partition: 0, offset: '3', metadata: 'done:5,7' },
          { topic, partition: 1, offset: '9' },
        ],
      );
      const committed = await reader.committed([
        { topic, partition: 0 },
        { topic, partition: 1 },
      ]);
      const byPartition = new Map(committed.map((entry) => [entry.partition, entry]));
      expect(byPartition.get(0)).toMatchObject({ offset: '3', metadata: 'done:5,7' });
      expect(byPartition.get(1)).toMatchObject({ offset: '9' });
      expect(byPartition.get(1)?.metadata ?? '').toBe('');
    } finally {
      await sender.close().catch(() => {});
      await Promise.all([consumer.disconnect(), reader.disconnect()]).catch(() => {});
    }
  });
});

describe('exactly-once without head-of-line blocking, on a real broker', () => {
  it('sends the outputs of records done behind a slow one, and the member that takes the partition over skips them', async () => {
    const base = kafkaTestSettings();
    const settings = { ...base, shop: { ...base.shop, processing: 'exactly-once' as const } };
    const input = randomName('hol-in');
    const output = randomName('hol-out');
    await createTopics([input, output], 1);
    const groupId = randomName('group');
    const producer = await rawProducer();
    await producer.send({
      topic: input,
      messages: ['slow', 'a', 'b', 'c'].map((value, index) => ({ key: `k${index}`, value })),
    });

    const first = await createKafkaBus({ settings, log, shutdownGraceMs: 500 });
    onTestFinished(() => first.close());
    await first.subscribe({
      groupId,
      clientId: 'first',
      topics: [input],
      capacity: 4,
      role: 'bake',
      log,
      handle: async (record, signal) => {
        // The slow pizza never leaves the oven in this member's life.
        if (record.value?.toString() === 'slow') {
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        }
        await first.publish(output, record.key ?? '', record.value);
      },
    });
    // Committed while offset 0 is still in progress: visible to read-committed readers.
    const early = await readTopic(output, 3);
    expect(early.map((record) => record.value.toString()).sort()).toEqual(['a', 'b', 'c']);
    await vi.waitFor(
      async () =>
        expect(await first.committedOffsets(groupId, [{ topic: input, partition: 0 }])).toEqual([
          { topic: input, partition: 0, offset: '0', done: ['1', '2', '3'] },
        ]),
      { timeout: 10_000, interval: 100 },
    );
    // The member goes (the slow record is given up), and another takes the partition over.
    await first.close();

    const second = await createKafkaBus({ settings, log, shutdownGraceMs: 500 });
    onTestFinished(() => second.close());
    const worked: string[] = [];
    await second.subscribe({
      groupId,
      clientId: 'second',
      topics: [input],
      capacity: 4,
      role: 'bake',
      log,
      handle: async (record) => {
        worked.push(record.offset);
        await second.publish(output, record.key ?? '', record.value);
      },
    });
    await vi.waitFor(
      async () =>
        expect(await second.committedOffsets(groupId, [{ topic: input, partition: 0 }])).toEqual([
          { topic: input, partition: 0, offset: '4' },
        ]),
      { timeout: 30_000, interval: 100 },
    );
    expect(worked).toEqual(['0']);
    const all = await readTopic(output, 4);
    expect(all.map((record) => record.value.toString()).sort()).toEqual(['a', 'b', 'c', 'slow']);
  }, 90_000);
});
