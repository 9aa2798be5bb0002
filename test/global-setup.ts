import type { TestProject } from 'vitest/node';
import { startKafkaBroker } from '../tools/kafka/broker.js';
import './support/provided.js';

/**
 * Starts the real services the suite needs, once for all files: one Apache
 * Kafka broker, shared by every Kafka test (each uses its own random topics
 * and groups). PIZZA_TEST_KAFKA=host:port points the suite at a running broker instead.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.PIZZA_TEST_KAFKA;
  if (external) {
    project.provide('kafkaBootstrap', external);
    return async () => {};
  }
  const broker = await startKafkaBroker();
  project.provide('kafkaBootstrap', broker.bootstrapServers);
  return () => broker.stop();
}
