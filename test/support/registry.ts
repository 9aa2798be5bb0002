import type { SchemaRegistryClient } from '@confluentinc/schemaregistry';
import { inject } from 'vitest';
import { CONTRACT_TOPICS, type ContractTopic } from '../../src/adapters/contracts/contracts.js';
import type { Settings } from '../../src/config/settings.js';
import { TOPIC_INI_KEYS } from './ini.js';
import './provided.js';

/**
 * The suite's Schema Registry (test/registry-setup.ts): its Confluent-compatible URL. A test
 * that asks for it outside the projects that have one fails, saying where it belongs.
 */
export function schemaRegistryUrl(): string {
  const url = inject('schemaRegistryUrl');
  if (!url) {
    throw new Error(
      'no Schema Registry in this project: a test that talks to a registry belongs in the integration tier; add its file to KAFKA (or FLINK, FAULTS) in vitest.config.ts',
    );
  }
  return url;
}

/**
 * Settings pointed at the suite's registry. Subjects follow the topic names
 * (`<topic>-value`), so settings from kafkaTestSettings(), whose topics are random
 * per test, give the test subjects no other test touches.
 */
export function withTestRegistry(
  settings: Settings,
  valueFormat: Settings['shop']['contracts']['valueFormat'] = 'avro',
): Settings {
  return {
    ...settings,
    schemaRegistry: { url: schemaRegistryUrl() },
    shop: { ...settings.shop, contracts: { ...settings.shop.contracts, valueFormat } },
  };
}

/** The `[schema-registry]` lines of an ini file for a spawned bin/pizza. */
export function registryIniSection(): string {
  return `[schema-registry]\nurl = ${schemaRegistryUrl()}\n`;
}

/** A client of the suite's registry, for a test to look at subjects, versions and levels itself. */
export async function testRegistryClient(): Promise<SchemaRegistryClient> {
  const { SchemaRegistryClient } = await import('@confluentinc/schemaregistry');
  return new SchemaRegistryClient({ baseURLs: [schemaRegistryUrl()], maxRetries: 0 });
}

/** The contract topics under names no other test uses: `<run>-<the ini key>`, so subjects of their own. */
export function contractTopicNames(run: string): Record<ContractTopic, string> {
  return Object.fromEntries(CONTRACT_TOPICS.map((key) => [key, `${run}-${TOPIC_INI_KEYS[key]}`])) as Record<
    ContractTopic,
    string
  >;
}

/** A config for `pizza schemas:check`: the suite's broker and registry (or another URL), these topics, a contracts dir. */
export function schemasCheckIni(
  bootstrapServers: string,
  topics: Record<ContractTopic, string>,
  options: { registryUrl?: string; contractsDir?: string } = {},
): string {
  return [
    '[kafka]',
    `bootstrap.servers = ${bootstrapServers}`,
    '[kafka-topics]',
    ...CONTRACT_TOPICS.map((key) => `${TOPIC_INI_KEYS[key]} = ${topics[key]}`),
    '[schema-registry]',
    `url = ${options.registryUrl ?? schemaRegistryUrl()}`,
    '[pizza-shop]',
    `contracts_dir = ${options.contractsDir ?? ''}`,
  ].join('\n');
}
