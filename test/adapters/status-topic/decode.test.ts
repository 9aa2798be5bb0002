import { AvroSerializer, JsonSerializer, MockClient, SerdeType } from '@confluentinc/schemaregistry';
import { describe, expect, it } from 'vitest';
import type { BusRecord } from '../../../src/adapters/bus/bus.js';
import { createStatusTopicDecoder } from '../../../src/adapters/status-topic/decode.js';
import { registryAvroReader } from '../../../src/adapters/status-topic/registry.js';
import { InvalidEventError } from '../../../src/domain/events.js';

const TOPIC = 'pizza-status';
const ORDER_ID = '3f9a0c1e';
const TIMESTAMP = 1_760_000_000_123;

// The schemas Flink registers for the workshop's table: the key column alone
// (as a primitive or as a record), the value with nullable columns.
const AVRO_KEY_STRING = 'string';
const AVRO_KEY_RECORD = { type: 'record', name: 'record_key', fields: [{ name: 'orderid', type: 'string' }] };
const AVRO_VALUE = {
  type: 'record',
  name: 'record_value',
  namespace: 'org.apache.flink.avro.generated',
  fields: [
    { name: 'status', type: ['null', 'int'], default: null },
    { name: 'timestamp', type: ['null', 'long'], default: null },
  ],
};
const JSON_KEY_STRING = { type: 'string' };
const JSON_KEY_OBJECT = { type: 'object', properties: { orderid: { type: 'string' } } };
const JSON_VALUE = {
  type: 'object',
  properties: { orderid: { type: 'string' }, status: { type: 'integer' }, timestamp: { type: 'integer' } },
};

type Format = 'AVRO' | 'JSON';

/** Bytes exactly as the registry serializers frame them, via the package's in-memory registry. */
async function serialize(
  client: MockClient,
  part: 'key' | 'value',
  format: Format,
  schema: unknown,
  message: unknown,
): Promise<Buffer> {
  await client.register(`${TOPIC}-${part}`, { schemaType: format, schema: JSON.stringify(schema) });
  const type = part === 'key' ? SerdeType.KEY : SerdeType.VALUE;
  const config = { useLatestVersion: true, autoRegisterSchemas: false };
  const serializer =
    format === 'AVRO' ? new AvroSerializer(client, type, config) : new JsonSerializer(client, type, config);
  return serializer.serialize(TOPIC, message);
}

/** Confluent Cloud's schema ids are six digits; their bytes are not valid UTF-8, which matters for keys. */
function withSchemaId(framed: Buffer, schemaId: number): Buffer {
  const copy = Buffer.from(framed);
  copy.writeUInt32BE(schemaId, 1);
  return copy;
}

/** A record as the Kafka bus delivers it: the key's bytes, and the same decoded as UTF-8. */
function record(key: Buffer | string | null, value: Buffer | null): BusRecord {
  const keyBytes = key === null ? null : Buffer.from(key);
  return {
    topic: TOPIC,
    partition: 0,
    offset: '0',
    key: keyBytes === null ? null : keyBytes.toString('utf8'),
    keyBytes,
    value,
    timestamp: Date.now(),
    headers: {},
  };
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const expected = { orderId: ORDER_ID, status: 300, timestamp: TIMESTAMP };
const withoutRegistry = createStatusTopicDecoder({ avro: undefined });

describe('pizza-status decoder: keys', () => {
  it('reads a raw UTF-8 key with a plain JSON value (Apache Flink upsert-kafka)', async () => {
    const decoded = await withoutRegistry(record(ORDER_ID, json({ status: 300, timestamp: TIMESTAMP })));
    expect(decoded).toEqual(expected);
  });

  it.each([
    ['JSON string', 'JSON', JSON_KEY_STRING, ORDER_ID],
    ['JSON object', 'JSON', JSON_KEY_OBJECT, { orderid: ORDER_ID }],
    ['Avro string', 'AVRO', AVRO_KEY_STRING, ORDER_ID],
    ['Avro record', 'AVRO', AVRO_KEY_RECORD, { orderid: ORDER_ID }],
  ] as const)('reads a Schema Registry %s key without calling the registry', async (_name, format, schema, message) => {
    const framed = await serialize(new MockClient(), 'key', format, schema, message);
    const value = json({ status: 300, timestamp: TIMESTAMP }); // no order id in the value: it must come from the key
    // 100134 ends in two bytes that are each invalid UTF-8; 115625 ends in C3 A9, which decodes as one character.
    for (const schemaId of [1, 100_134, 115_625]) {
      const key = withSchemaId(framed, schemaId);
      expect(await withoutRegistry(record(key, value))).toEqual(expected);
    }
  });

  it('takes the order id from the value when the value carries one', async () => {
    const decoded = await withoutRegistry(
      record(null, json({ order_id: ORDER_ID, status: 300, timestamp: TIMESTAMP })),
    );
    expect(decoded).toEqual(expected);
  });
});

describe('pizza-status decoder: values', () => {
  it('reads json-registry values without a [schema-registry] section (the Confluent Cloud table we print)', async () => {
    const value = withSchemaId(
      await serialize(new MockClient(), 'value', 'JSON', JSON_VALUE, {
        orderid: ORDER_ID,
        status: 300,
        timestamp: TIMESTAMP,
      }),
      100_135,
    );
    expect(await withoutRegistry(record(ORDER_ID, value))).toEqual(expected);
  });

  it('reads field names in upper case, as the workshop status service expected them', async () => {
    const decoded = await withoutRegistry(record(null, json({ ORDERID: ORDER_ID, STATUS: 300, TIMESTAMP })));
    expect(decoded).toEqual(expected);
  });

  it('reads avro-registry values through Schema Registry (the workshop table, Avro key and value)', async () => {
    const client = new MockClient();
    const key = await serialize(client, 'key', 'AVRO', AVRO_KEY_STRING, ORDER_ID);
    const value = await serialize(client, 'value', 'AVRO', AVRO_VALUE, { status: 300, timestamp: TIMESTAMP });
    const decode = createStatusTopicDecoder({ avro: registryAvroReader({ section: {}, client }) });
    expect(await decode(record(key.toString('utf8'), value))).toEqual(expected);
    // The schema comes from the client's cache the second time; the result is the same.
    expect(await decode(record(key.toString('utf8'), value))).toEqual(expected);
  });

  it('says which schema id and what to configure for an Avro value without a [schema-registry] section', async () => {
    const value = withSchemaId(
      await serialize(new MockClient(), 'value', 'AVRO', AVRO_VALUE, { status: 300, timestamp: TIMESTAMP }),
      100_136,
    );
    const failure = withoutRegistry(record(ORDER_ID, value));
    await expect(failure).rejects.toBeInstanceOf(InvalidEventError);
    await expect(failure).rejects.toThrow(
      /value is Avro \(or Protobuf\) with schema id 100136, but no \[schema-registry\] section is configured; add one with url and basic\.auth\.user\.info/,
    );
  });

  it('says the registry does not know a schema id it is asked for', async () => {
    const value = withSchemaId(
      await serialize(new MockClient(), 'value', 'AVRO', AVRO_VALUE, { status: 300, timestamp: TIMESTAMP }),
      100_137,
    );
    const decode = createStatusTopicDecoder({ avro: registryAvroReader({ section: {}, client: new MockClient() }) });
    await expect(decode(record(ORDER_ID, value))).rejects.toThrow(
      /Schema Registry has no schema id 100137; check that \[schema-registry\] url/,
    );
  });

  it.each([
    ['an HTTP 503', { status: 503 }],
    ['a refused connection', { code: 'ECONNREFUSED' }],
  ])(
    'fails the attempt, to be retried, when the registry is down (%s), instead of skipping the record',
    async (_, problem) => {
      const value = withSchemaId(
        await serialize(new MockClient(), 'value', 'AVRO', AVRO_VALUE, { status: 300, timestamp: TIMESTAMP }),
        100_138,
      );
      const outage = Object.assign(new Error('registry down'), problem);
      const unreachable = new Proxy(new MockClient(), {
        get: (target, property) => {
          const member = Reflect.get(target, property);
          return typeof member === 'function' ? async () => Promise.reject(outage) : member;
        },
      });
      const decode = createStatusTopicDecoder({ avro: registryAvroReader({ section: {}, client: unreachable }) });
      const failure = decode(record(ORDER_ID, value));
      await expect(failure).rejects.toThrow(/not reachable right now \(schema id 100138\); will retry/);
      await expect(failure).rejects.not.toBeInstanceOf(InvalidEventError);
    },
  );

  it('rejects a value that is neither JSON nor framed, with the format to declare', async () => {
    const failure = withoutRegistry(record(ORDER_ID, Buffer.from([0x89, 0x50, 0x4e, 0x47])));
    await expect(failure).rejects.toBeInstanceOf(InvalidEventError);
    await expect(failure).rejects.toThrow(/neither a JSON object nor in Schema Registry format \(first byte 0x89\)/);
  });

  it('rejects a JSON value without a numeric status', async () => {
    await expect(withoutRegistry(record(ORDER_ID, json({ state: 'baked', timestamp: TIMESTAMP })))).rejects.toThrow(
      /no numeric status and timestamp \(fields: state, timestamp\)/,
    );
  });

  it('rejects a record with neither a key nor an order id field', async () => {
    await expect(withoutRegistry(record(null, json({ status: 300, timestamp: TIMESTAMP })))).rejects.toThrow(
      /no key and no orderid field/,
    );
  });

  it('passes over a tombstone', async () => {
    expect(await withoutRegistry(record(ORDER_ID, null))).toBeUndefined();
  });
});
