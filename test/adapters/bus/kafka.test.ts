import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createKafkaBus } from '../../../src/adapters/bus/kafka.js';
import { PizzaError } from '../../../src/errors.js';
import {
  createTopics,
  createTopicsKeptByCaller,
  deleteTopics,
  kafkaTestSettings,
  randomName,
} from '../../support/kafka.js';
import { busContract } from './contract.js';

const log = pino({ level: 'silent' });

busContract('kafka', async () => {
  const settings = kafkaTestSettings();
  const bus = await createKafkaBus({ settings, log, shutdownGraceMs: 2_000 });
  const topics: string[] = [settings.topics.deadLetter];
  await createTopicsKeptByCaller([settings.topics.deadLetter], 1);
  return {
    bus,
    deadLetterTopic: settings.topics.deadLetter,
    async createTopic(partitions) {
      const topic = randomName('contract');
      // Created here, not with createTopics: the contract's hooks run outside a test's own lifetime.
      await createTopicsKeptByCaller([topic], partitions);
      topics.push(topic);
      return topic;
    },
    newGroupId: () => randomName('group'),
    async close() {
      await bus.close();
      await deleteTopics(topics);
    },
  };
});

describe('kafka bus: what a user meets', () => {
  it('refuses to subscribe to topics that do not exist, naming them and the command that creates them', async () => {
    const settings = kafkaTestSettings();
    const bus = await createKafkaBus({ settings, log });
    try {
      const present = randomName('present');
      await createTopics([present], 1);
      const missing = randomName('missing');
      const attempt = bus.subscribe({
        groupId: randomName('group'),
        clientId: 'test',
        topics: [present, missing],
        capacity: 1,
        handle: async () => {},
        role: 'test',
        log,
      });
      await expect(attempt).rejects.toBeInstanceOf(PizzaError);
      await expect(attempt).rejects.toMatchObject({ code: 'TOPICS_MISSING' });
      const message = await attempt.catch((error: Error) => error.message);
      expect(message).toContain(missing);
      expect(message).not.toContain(present);
      expect(message).toContain('pizza topics:check');
      expect(message).toContain('--create');
    } finally {
      await bus.close();
    }
  });

  it('reports an unreachable broker as KAFKA_UNREACHABLE with the address, instead of hanging', async () => {
    const settings = { ...kafkaTestSettings(), kafka: { 'bootstrap.servers': '127.0.0.1:1' } };
    const attempt = createKafkaBus({ settings, log });
    await expect(attempt).rejects.toMatchObject({ code: 'KAFKA_UNREACHABLE', userFacing: true });
    await expect(attempt).rejects.toThrow(/127\.0\.0\.1:1.*Connection refused/);
  });

  it('reports a failed SASL handshake as KAFKA_AUTH, pointing at the credentials', async () => {
    // The suite's broker speaks PLAINTEXT only, so a SASL client fails at the handshake, as with wrong settings.
    const base = kafkaTestSettings();
    const settings = {
      ...base,
      kafka: {
        ...base.kafka,
        'security.protocol': 'SASL_PLAINTEXT',
        'sasl.mechanisms': 'PLAIN',
        'sasl.username': 'key',
        'sasl.password': 'secret',
      },
    };
    const attempt = createKafkaBus({ settings, log });
    await expect(attempt).rejects.toMatchObject({ code: 'KAFKA_AUTH' });
    await expect(attempt).rejects.toThrow(/sasl\.username/);
  });
});
