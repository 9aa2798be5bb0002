import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { KafkaClients } from '../../../src/adapters/kafka/client.js';
import { createKafkaBus } from '../../../src/adapters/kafka/kafka-bus.js';
import { HEADERS } from '../../../src/domain/headers.js';
import { PizzaError } from '../../../src/errors.js';
import {
  createTopics,
  createTopicsKeptByCaller,
  deleteTopics,
  kafkaBootstrap,
  kafkaTestSettings,
  randomName,
} from '../../support/kafka.js';
import { type BusFixture, busContract } from '../bus/contract.js';
import { hostReadContract } from '../bus/host-read-contract.js';

const log = pino({ level: 'silent' });

const kafkaFixture = async (): Promise<BusFixture> => {
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
};

busContract('kafka', kafkaFixture);
hostReadContract('kafka', kafkaFixture);

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

describe('kafka bus: faults (issue 8)', () => {
  it('leaves no consumer running when close() races a subscribe still joining', async () => {
    const settings = kafkaTestSettings();
    const topic = randomName('race');
    await createTopics([topic], 1);
    const bus = await createKafkaBus({ settings, log, shutdownGraceMs: 500 });
    const groupId = randomName('group');
    const handled: string[] = [];
    const subscribing = bus.subscribe({
      groupId,
      clientId: 'race',
      topics: [topic],
      capacity: 1,
      handle: async (record) => {
        handled.push(record.key ?? '');
      },
      role: 'test',
      log,
    });
    const outcome = subscribing.then(
      () => 'subscribed',
      (error: Error) => error.message,
    );
    await bus.close();
    expect(await outcome).toMatch(/closed/);

    // Had a consumer outlived close(), it would still be a member and take this record.
    const admin = new KafkaClients({ 'bootstrap.servers': kafkaBootstrap() }, log).admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([groupId]);
      expect(groups[0]?.members ?? []).toEqual([]);
    } finally {
      await admin.disconnect();
    }
    expect(handled).toEqual([]);
  });

  it('dead-letters a record its output can never fit, cutting the copy to fit and saying so', async () => {
    const settings = kafkaTestSettings();
    const source = randomName('source');
    await createTopics([source, settings.topics.deadLetter], 1);
    const bus = await createKafkaBus({ settings, log, shutdownGraceMs: 500 });
    try {
      const bigValue = Buffer.alloc(900_000, 'x');
      await bus.publish(source, '0a1b2c3d', bigValue);
      const done: string[] = [];
      await bus.subscribe({
        groupId: randomName('group'),
        clientId: 'fit',
        topics: [source],
        capacity: 1,
        role: 'test',
        log,
        // The work's own output is too large for the broker: no retry can help.
        handle: async (record) => {
          await bus.publish(source, 'ffffffff', Buffer.concat([record.value ?? Buffer.alloc(0), bigValue]));
          done.push(record.key ?? '');
        },
      });
      const [letter] = await vi.waitFor(
        async () => {
          const letters = await bus.readTopic(settings.topics.deadLetter);
          expect(letters, 'a dead letter for the record whose output cannot fit').not.toHaveLength(0);
          return letters;
        },
        { timeout: 30_000, interval: 200 },
      );
      expect(done).toEqual([]);
      expect(letter?.headers[HEADERS.deadLetter.reason]?.toString()).toBe('permanent');
      expect(letter?.headers[HEADERS.deadLetter.error]?.toString()).toMatch(/too large/i);
      expect(letter?.headers[HEADERS.deadLetter.truncated]?.toString()).toBe('value');
      expect(letter?.headers[HEADERS.deadLetter.valueSha256]?.toString()).toMatch(/^[0-9a-f]{64}$/);
      expect(letter?.value?.length).toBeLessThan(bigValue.length);
    } finally {
      await bus.close();
    }
  });
});
