import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SchemaInfo } from '@confluentinc/schemaregistry';
import type { Topics } from '../../config/settings.js';
import { configError } from '../../errors.js';

/**
 * The topics whose values are under a contract: the workshop's topics and the
 * cancel topics. The shop's own topics (logs, sessions, role stats, dead
 * letters) stay plain JSON.
 */
export const CONTRACT_TOPICS = [
  'ordered',
  'assembled',
  'baked',
  'delivered',
  'pending',
  'status',
  'cancelRequested',
  'cancelled',
] as const satisfies readonly (keyof Topics)[];
export type ContractTopic = (typeof CONTRACT_TOPICS)[number];

/** Each contract's file, named after the workshop's topic name whatever the topic is called in the settings. */
const CONTRACT_FILES: Record<ContractTopic, string> = {
  ordered: 'pizza-ordered.avsc',
  assembled: 'pizza-assembled.avsc',
  baked: 'pizza-baked.avsc',
  delivered: 'pizza-delivered.avsc',
  pending: 'pizza-pending.avsc',
  status: 'pizza-status.avsc',
  cancelRequested: 'pizza-cancel-requested.avsc',
  cancelled: 'pizza-cancelled.avsc',
};

// contracts/ sits at the package root, three levels up from src/adapters/contracts and dist/adapters/contracts.
export const SHIPPED_CONTRACTS_DIR = fileURLToPath(new URL('../../../contracts/', import.meta.url));

export interface Contract {
  topicKey: ContractTopic;
  /** The topic as the settings name it. */
  topic: string;
  /** Confluent's TopicNameStrategy: `<topic>-value`, the subject every Schema Registry client and Flink use. */
  subject: string;
  file: string;
  /** The Avro schema as parsed JSON. */
  schema: AvroRecordSchema;
  /** The schema as the registry is sent it: compact JSON text. */
  text: string;
}

/** The part of an Avro record schema pizza reads itself; avsc checks the rest. */
export interface AvroRecordSchema {
  type: 'record';
  name: string;
  namespace?: string;
  fields: { name: string; type: unknown; default?: unknown }[];
}

/**
 * Reads and checks every contract: each file must be an Avro record schema
 * that avsc accepts. A broken file stops the caller with a line that names it.
 * avsc is loaded here, not at start-up, because only shops with contracts on
 * (and `schemas:check`) need it.
 */
export async function loadContracts(topics: Topics, dir: string = SHIPPED_CONTRACTS_DIR): Promise<Contract[]> {
  const { default: avro } = await import('avsc');
  return Promise.all(
    CONTRACT_TOPICS.map(async (topicKey) => {
      const file = join(dir, CONTRACT_FILES[topicKey]);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw configError(`the contract ${file} could not be read: ${(error as Error).message}`, error);
      }
      let schema: AvroRecordSchema;
      try {
        schema = JSON.parse(text) as AvroRecordSchema;
        avro.Type.forSchema(schema as Parameters<typeof avro.Type.forSchema>[0]);
      } catch (error) {
        throw configError(`the contract ${file} is not a valid Avro schema: ${(error as Error).message}`, error);
      }
      if (schema.type !== 'record' || !Array.isArray(schema.fields)) {
        throw configError(`the contract ${file} must be an Avro record schema (type "record", with fields)`);
      }
      const topic = topics[topicKey];
      return { topicKey, topic, subject: `${topic}-value`, file, schema, text: JSON.stringify(schema) };
    }),
  );
}

/** The contract as a Schema Registry client sends it. */
export function contractInfo(contract: Contract): SchemaInfo {
  return { schemaType: 'AVRO', schema: contract.text };
}
