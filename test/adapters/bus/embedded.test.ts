import { randomUUID } from 'node:crypto';
import { EmbeddedBus } from '../../../src/adapters/bus/embedded.js';
import { busContract } from './contract.js';

busContract('embedded', async () => {
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
});
