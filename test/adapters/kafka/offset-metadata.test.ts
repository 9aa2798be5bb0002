import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { KafkaClients } from '../../../src/adapters/kafka/client.js';
import { TransactionalSender } from '../../../src/adapters/kafka/transactions.js';
import { createTopics, kafkaBootstrap, randomName } from '../../support/kafka.js';

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
