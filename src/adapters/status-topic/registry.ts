import type { AvroDeserializer, Client } from '@confluentinc/schemaregistry';
import { InvalidEventError } from '../../domain/events.js';
import { PizzaError } from '../../errors.js';
import { createRegistryClient, registryClientConfig, registryUnreachable } from '../contracts/registry-client.js';

/** Reads an Avro value (the whole framed bytes) through Schema Registry. */
export interface AvroValueReader {
  read(topic: string, value: Buffer, schemaId: number): Promise<unknown>;
}

export interface RegistryOptions {
  /** The [schema-registry] section: `url` (comma-separated for several), `basic.auth.user.info`. */
  section: Record<string, string>;
  /** A client to use instead of one built from the section (tests pass the package's MockClient). */
  client?: Client;
}

/**
 * An Avro reader over the Schema Registry named in the config. The package is
 * large (it brings the cloud KMS SDKs), so it is imported on the first Avro
 * value, not at start-up. Its client caches each schema by id, so a schema is
 * fetched once; the deserializer is built once.
 */
export function registryAvroReader(options: RegistryOptions): AvroValueReader {
  // Checked now, so a section with no url stops the shop at start rather than at the first Avro value.
  if (!options.client) registryClientConfig(options.section);
  let deserializer: Promise<AvroDeserializer> | undefined;
  const load = async (): Promise<AvroDeserializer> => {
    const registry = await import('@confluentinc/schemaregistry');
    const client = options.client ?? (await createRegistryClient(options.section));
    return new registry.AvroDeserializer(client, registry.SerdeType.VALUE, {});
  };

  return {
    async read(topic, value, schemaId) {
      deserializer ??= load();
      try {
        return await (await deserializer).deserialize(topic, value);
      } catch (error) {
        // An outage passes: fail the attempt so the record is retried, rather than skip it for good.
        if (registryUnreachable(error)) {
          throw new PizzaError(
            'SCHEMA_REGISTRY_UNAVAILABLE',
            `Schema Registry is not reachable right now (schema id ${schemaId}); will retry`,
            { cause: error },
          );
        }
        throw new InvalidEventError(registryProblem(error, schemaId), { cause: error });
      }
    },
  };
}

/** A message that says what went wrong with the registry and what to change. */
function registryProblem(error: unknown, schemaId: number): string {
  const status = (error as { status?: unknown }).status;
  const reason = error instanceof Error ? error.message : String(error);
  if (status === 401 || status === 403) {
    return `Schema Registry refused the credentials (HTTP ${status}) for schema id ${schemaId}; check basic.auth.user.info = <SR API key>:<SR API secret> in [schema-registry]`;
  }
  if (status === 404) {
    return `Schema Registry has no schema id ${schemaId}; check that [schema-registry] url names the registry of the environment the Flink table lives in`;
  }
  if (typeof status === 'number') return `Schema Registry answered HTTP ${status} for schema id ${schemaId}: ${reason}`;
  return `value with schema id ${schemaId} could not be read as Avro through Schema Registry: ${reason}; check [schema-registry] url and that the table's value format is avro-registry`;
}
