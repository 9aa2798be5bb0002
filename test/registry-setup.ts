import type { TestProject } from 'vitest/node';
import { startSchemaRegistry } from '../tools/registry/apicurio.js';
import './support/provided.js';

/**
 * Starts one Schema Registry (Apicurio Registry, in memory) for the whole run, shared by
 * every test that uses contracts: each test's random topic names give it subjects of its
 * own (`<topic>-value`). PIZZA_TEST_SCHEMA_REGISTRY=http://host:port/apis/ccompat/v7 points
 * the suite at a running registry instead.
 *
 * As with the broker (test/global-setup.ts), the first project to run this starts it and
 * provides its URL to the root project, whose values every project sees; the unit and
 * embedded projects override it with ''.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const root = project.vitest.getRootProject();
  if (root.getProvidedContext().schemaRegistryUrl) return undefined;
  const external = process.env.PIZZA_TEST_SCHEMA_REGISTRY;
  if (external) {
    root.provide('schemaRegistryUrl', external);
    return undefined;
  }
  const registry = await startSchemaRegistry();
  root.provide('schemaRegistryUrl', registry.url);
  return () => registry.stop();
}
