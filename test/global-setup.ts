import type { TestProject } from 'vitest/node';
import { startKafkaBroker } from '../tools/kafka/broker.js';
import './support/provided.js';

/**
 * Starts the real services the integration tier needs, once for the whole run: one
 * Apache Kafka broker, shared by every Kafka test (each uses its own random topics
 * and groups). PIZZA_TEST_KAFKA=host:port points the suite at a running broker instead.
 *
 * Each project that needs the broker lists this file; the first one to run it starts
 * the broker and provides its address to the root project, whose values every project
 * sees (the unit project overrides it with ''), so the others find it there.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const root = project.vitest.getRootProject();
  if (root.getProvidedContext().kafkaBootstrap) return undefined;
  const external = process.env.PIZZA_TEST_KAFKA;
  if (external) {
    root.provide('kafkaBootstrap', external);
    return undefined;
  }
  const broker = await startKafkaBroker();
  root.provide('kafkaBootstrap', broker.bootstrapServers);
  return () => broker.stop();
}
