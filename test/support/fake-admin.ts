import type { KafkaAdmin } from '../../src/adapters/kafka/client.js';

/** What `createTopics` was asked for, one entry a topic. */
export interface TopicRequest {
  topic: string;
  replicationFactor?: number;
  configEntries?: Array<{ name: string; value: string }>;
}

/** An admin client of an empty cluster that records the topics it is asked to create, into `requests`. */
export function recordingAdmin(requests: TopicRequest[]): KafkaAdmin {
  return {
    listTopics: async () => [],
    fetchTopicMetadata: async () => [],
    createTopics: async (options: { topics: TopicRequest[] }) => {
      requests.push(...options.topics);
      return true;
    },
  } as unknown as KafkaAdmin;
}
