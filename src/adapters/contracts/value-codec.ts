import type { Client, Compatibility, SchemaInfo } from '@confluentinc/schemaregistry';
import type { Schema, Type } from 'avsc';
import type { Settings } from '../../config/settings.js';
import { InvalidEventError } from '../../domain/events.js';
import { configError, PizzaError } from '../../errors.js';
import { PermanentError } from '../bus/failures.js';
import { CONTRACT_COMPATIBILITY } from './compatibility.js';
import { CONTRACT_TOPICS, type Contract, contractInfo, loadContracts } from './contracts.js';
import { createRegistryClient, isNotFound, registryUnreachable } from './registry-client.js';

/**
 * Schema Registry's wire format: a 0x00 magic byte, the schema id as a 4-byte
 * big-endian integer, then the Avro body. A JSON value never starts with 0x00,
 * so the first byte tells a framed record from a plain one.
 */
const MAGIC_BYTE = 0x00;
const HEADER_BYTES = 5;

/** Whether a value is in Schema Registry's wire format (or claims to be): the whole cost of the codec on a plain record. */
export function isFramed(value: Buffer | null): value is Buffer {
  return value !== null && value.length > 0 && value[0] === MAGIC_BYTE;
}

/** Turns the JSON the roles write into framed Avro and back, under the contracts. */
export interface ValueCodec {
  /** The topics whose framed records this codec turns back into JSON (the contract topics but pizza-status). */
  decodes(topic: string): boolean;
  /** The topics it frames on publish: the contract topics when value_format is avro, else none. */
  encodes(topic: string): boolean;
  /**
   * The framed Avro of a role's JSON, synchronously once the topic's contract
   * is known to the registry, so publishes keep their order; a promise the
   * first time. Fails with SCHEMA_REGISTRY_UNAVAILABLE while the registry is
   * away, and a PermanentError for JSON that does not fit the contract.
   */
  encode(topic: string, json: Buffer): Buffer | Promise<Buffer>;
  /**
   * The plain JSON of a framed value, read with its writer's schema (looked up
   * by its id, once) into this process's own contract, as Avro's schema
   * resolution does: a role sees the fields of its contract, so one on an older
   * contract drops a field added since, and one on a newer contract gets the
   * default of a field an older writer lacked. An unknown id, bytes that do not
   * match their schema, a writer's schema the contract cannot read, or no
   * registry at all: InvalidEventError with the reason. The registry away:
   * SCHEMA_REGISTRY_UNAVAILABLE, so the record waits.
   */
  decode(topic: string, value: Buffer): Promise<Buffer>;
  /**
   * Registers (or finds) the contracts of the topics a role writes. A refusal
   * (HTTP 409 incompatible, 422 invalid) is a PizzaError SCHEMA_REFUSED naming
   * the topic and subject; a registry away leaves it to the first publish.
   */
  register(topics: readonly string[]): Promise<{ topic: string; subject: string; id: number }[]>;
}

export interface ValueCodecOptions {
  settings: Pick<Settings, 'topics' | 'schemaRegistry' | 'shop'>;
  /** The registry client (tests give the package's MockClient); by default one built from [schema-registry]. */
  client?: () => Promise<Client>;
}

interface Encoder {
  contract: Contract;
  id: number;
  type: Type;
}

export function createValueCodec(options: ValueCodecOptions): ValueCodec {
  const { settings } = options;
  const section = settings.schemaRegistry;
  const loadClient = options.client ?? (section ? () => createRegistryClient(section) : undefined);
  const decoded = new Set<string>(CONTRACT_TOPICS.filter((key) => key !== 'status').map((key) => settings.topics[key]));
  const avroOut = settings.shop.contracts.valueFormat === 'avro';
  const encoded = new Set<string>(avroOut ? CONTRACT_TOPICS.map((key) => settings.topics[key]) : []);

  let client: Promise<Client> | undefined;
  const registry = (): Promise<Client> => {
    if (!loadClient) throw configError('value_format = avro needs a [schema-registry] section with its url');
    client ??= loadClient().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };
  let contracts: Promise<Map<string, Contract>> | undefined;
  const contractOf = async (topic: string): Promise<Contract> => {
    contracts ??= loadContracts(settings.topics, settings.shop.contracts.dir).then(
      (all) => new Map(all.map((contract) => [contract.topic, contract])),
    );
    const contract = (await contracts).get(topic);
    if (!contract) throw new PermanentError(`${topic} has no contract`);
    return contract;
  };

  // Each topic's contract, its id and its avsc type: looked up once, then encoding is synchronous.
  const ready = new Map<string, Encoder>();
  const pending = new Map<string, Promise<Encoder>>();
  const prepare = (topic: string): Promise<Encoder> => {
    let preparing = pending.get(topic);
    if (!preparing) {
      preparing = (async () => {
        const contract = await contractOf(topic);
        const id = await registerContract(await registry(), contract);
        const { default: avro } = await import('avsc');
        const encoder = { contract, id, type: avro.Type.forSchema(contract.schema as Schema) };
        ready.set(topic, encoder);
        return encoder;
      })();
      pending.set(topic, preparing);
      preparing.catch(() => pending.delete(topic));
    }
    return preparing;
  };

  // Writers' types by schema id: a schema is fetched and parsed once, whoever wrote it.
  const writers = new Map<number, Promise<Type>>();
  const writerType = (topic: string, schemaId: number): Promise<Type> => {
    let type = writers.get(schemaId);
    if (!type) {
      type = fetchWriterType(registry, `${topic}-value`, schemaId);
      writers.set(schemaId, type);
      // A failure is not remembered: the registry may come back, or learn the id.
      type.catch(() => writers.delete(schemaId));
    }
    return type;
  };

  // Each writer's schema resolved into this process's contract of the topic: worked out once per topic and id.
  const readers = new Map<string, Promise<Reader>>();
  const readerOf = (topic: string, schemaId: number): Promise<Reader> => {
    const key = `${schemaId} ${topic}`;
    let reader = readers.get(key);
    if (!reader) {
      reader = (async () => {
        const [writer, contract] = await Promise.all([writerType(topic, schemaId), contractOf(topic)]);
        return resolvedReader(writer, contract, schemaId);
      })();
      readers.set(key, reader);
      reader.catch(() => readers.delete(key));
    }
    return reader;
  };

  return {
    decodes: (topic) => decoded.has(topic),
    encodes: (topic) => encoded.has(topic),
    encode(topic, json) {
      const encoder = ready.get(topic);
      if (encoder) return encodeWith(encoder, topic, json);
      return prepare(topic).then((prepared) => encodeWith(prepared, topic, json));
    },
    async decode(topic, value) {
      if (value.length < HEADER_BYTES) {
        throw new InvalidEventError(
          `value starts with Schema Registry's magic byte 0x00 but is ${value.length} bytes long, too short for a schema id`,
        );
      }
      const schemaId = value.readUInt32BE(1);
      if (!loadClient) {
        throw new InvalidEventError(
          `value is in Schema Registry format (schema id ${schemaId}) but no [schema-registry] section is configured: ` +
            'add one (url, basic.auth.user.info) to read framed records, or have its writer use value_format = json',
        );
      }
      const reader = await readerOf(topic, schemaId);
      let record: unknown;
      try {
        record = reader.read(value.subarray(HEADER_BYTES));
      } catch (error) {
        throw new InvalidEventError(
          `value does not match its schema (id ${schemaId}, ${schemaName(reader.writer)}): ${(error as Error).message}`,
          { cause: error },
        );
      }
      // An optional field is null in Avro and absent in the JSON the roles know.
      return Buffer.from(
        JSON.stringify(record, (_field, fieldValue) => fieldValue ?? undefined),
        'utf8',
      );
    },
    async register(topics) {
      const wanted = topics.filter((topic) => encoded.has(topic));
      const registered = await Promise.all(wanted.map((topic) => prepare(topic)));
      return registered.map(({ contract, id }) => ({ topic: contract.topic, subject: contract.subject, id }));
    },
  };
}

function encodeWith(encoder: Encoder, topic: string, json: Buffer): Buffer {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new PermanentError(`a value for ${topic} is not JSON, so it cannot be written under its contract`, {
      cause: error,
    });
  }
  const problems: string[] = [];
  const fits = encoder.type.isValid(value, {
    noUndeclaredFields: true,
    errorHook: (path, found) => problems.push(`${path.join('.') || 'the value'} = ${JSON.stringify(found)}`),
  });
  if (!fits) {
    throw new PermanentError(
      `a value for ${topic} does not fit its contract (${encoder.contract.file}): ${problems.join('; ') || 'undeclared fields'}`,
    );
  }
  const body = encoder.type.toBuffer(value);
  const framed = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  framed[0] = MAGIC_BYTE;
  framed.writeUInt32BE(encoder.id, 1);
  body.copy(framed, HEADER_BYTES);
  return framed;
}

async function fetchWriterType(registry: () => Promise<Client>, subject: string, schemaId: number): Promise<Type> {
  let info: SchemaInfo;
  try {
    info = await (await registry()).getBySubjectAndId(subject, schemaId);
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    // Refused credentials are the operator's to fix, like a registry away: the records wait rather than go.
    if (registryUnreachable(error) || status === 401 || status === 403) {
      throw unavailable(error, `schema id ${schemaId}`);
    }
    throw new InvalidEventError(
      status === 404
        ? `value has schema id ${schemaId}, which Schema Registry does not know (was it written against another registry?)`
        : `Schema Registry would not give schema id ${schemaId}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (info.schemaType && info.schemaType !== 'AVRO') {
    throw new InvalidEventError(
      `value has schema id ${schemaId}, a ${info.schemaType} schema; the topics under contract are read as Avro or plain JSON`,
    );
  }
  const { default: avro } = await import('avsc');
  try {
    return avro.Type.forSchema(JSON.parse(info.schema) as Schema);
  } catch (error) {
    throw new InvalidEventError(
      `schema id ${schemaId} is not an Avro schema avsc can read: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

interface Reader {
  writer: Type;
  read(payload: Buffer): unknown;
}

/** Reads a writer's records into the contract's shape; a writer's schema the contract cannot read is refused by name. */
async function resolvedReader(writer: Type, contract: Contract, schemaId: number): Promise<Reader> {
  const { default: avro } = await import('avsc');
  const own = avro.Type.forSchema(contract.schema as Schema);
  let resolver: ReturnType<Type['createResolver']>;
  try {
    resolver = own.createResolver(writer);
  } catch (error) {
    throw new InvalidEventError(
      `value was written under schema id ${schemaId}, which this role's contract (${contract.file}) cannot read: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return { writer, read: (payload) => own.fromBuffer(payload, resolver) };
}

/** Finds the contract's id under its subject, registering it when the subject does not hold it yet. */
async function registerContract(client: Client, contract: Contract): Promise<number> {
  const schema = contractInfo(contract);
  try {
    return await client.getId(contract.subject, schema, false);
  } catch (error) {
    if (!isNotFound(error)) throw registrationFailure(contract, error);
  }
  try {
    // A subject this role is the first to write gets the level schemas:check sets, FULL, before its first
    // version, so the next change is checked both ways even where schemas:check was never run.
    if (!(await holdsVersions(client, contract.subject))) {
      await client.updateConfig(contract.subject, { compatibility: CONTRACT_COMPATIBILITY as Compatibility });
    }
    return await client.register(contract.subject, schema, false);
  } catch (error) {
    throw registrationFailure(contract, error);
  }
}

async function holdsVersions(client: Client, subject: string): Promise<boolean> {
  try {
    return (await client.getAllVersions(subject)).length > 0;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function registrationFailure(contract: Contract, error: unknown): PizzaError {
  if (registryUnreachable(error)) return unavailable(error, `the subject ${contract.subject}`);
  const status = (error as { status?: unknown }).status;
  const why =
    status === 409
      ? 'it is incompatible with the versions the subject holds, under its compatibility level'
      : status === 422
        ? 'the registry finds it invalid'
        : status === 401 || status === 403
          ? `the credentials may not write it (HTTP ${status}); check basic.auth.user.info in [schema-registry]`
          : `HTTP ${String(status ?? 'error')}`;
  return new PizzaError(
    'SCHEMA_REFUSED',
    `Schema Registry refused the contract of ${contract.topic} (subject ${contract.subject}, ${contract.file}): ${why} (${errorMessage(error)})`,
    { cause: error },
  );
}

/** The registry is away: the record or the publish waits for it, like for the broker. */
function unavailable(error: unknown, what: string): PizzaError {
  return new PizzaError(
    'SCHEMA_REGISTRY_UNAVAILABLE',
    `Schema Registry is not reachable right now (${what}): ${errorMessage(error)}; waiting for it`,
    { cause: error },
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function schemaName(type: Type): string {
  return type.name ?? type.typeName;
}
