import { randomUUID } from 'node:crypto';
import { EmbeddedBus } from '../../../src/adapters/bus/embedded.js';
import { type BusFixture, busContract } from './contract.js';
import { hostReadContract } from './host-read-contract.js';

const embeddedFixture = async (): Promise<BusFixture> => {
  const deadLetterTopic = `dead-${randomUUID()}`;
  const bus = new EmbeddedBus({ partitions: 1, shutdownGraceMs: 2_000, deadLetterTopic });
  return {
    bus,
    deadLetterTopic,
    async createTopic(partitions) {
      const topic = `topic-${randomUUID()}`;
      bus.createTopic(topic, partitions);
      return topic;
    },
    newGroupId: () => `group-${randomUUID()}`,
    close: () => bus.close(),
  };
};

busContract('embedded', embeddedFixture);
hostReadContract('embedded', embeddedFixture);
