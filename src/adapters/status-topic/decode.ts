import { InvalidEventError } from '../../domain/events.js';
import type { StatusRecord, StatusRecordDecoder, StatusUpdate } from '../../domain/status-update.js';
import { type AvroValueReader, registryAvroReader } from './registry.js';
import { lowerCaseFields, orderIdField, parseJson, readKeyPayload, unframe } from './wire.js';

export interface StatusTopicDecoderOptions {
  /**
   * Reads an Avro value through Schema Registry; undefined when no
   * [schema-registry] section is configured (see `registryAvroReader`).
   */
  avro: AvroValueReader | undefined;
}

const FIX_TABLE = "or recreate the table with 'value.format' = 'json-registry' (see `pizza flink:print`)";

/**
 * Decodes `pizza-status` as Flink really writes it, whichever way the table was
 * declared: the key raw UTF-8 or Schema Registry framed (JSON or Avro), the value
 * plain JSON, json-registry or avro-registry, field names in any case, the order
 * id from the key or from an `orderid`/`order_id` field. Tombstones are passed
 * over. Anything else throws InvalidEventError with the reason and the fix; the
 * messages name no order or offset, so the caller can log each problem once.
 */
export function createStatusTopicDecoder(options: StatusTopicDecoderOptions): StatusRecordDecoder {
  return async (record) => {
    if (record.value === null) return undefined;
    const fields = await decodeValue(record.topic, record.value, options.avro);
    const orderId = orderIdField(fields) ?? decodeKey(record);
    return statusUpdate(orderId, lowerCaseFields(fields));
  };
}

async function decodeValue(
  topic: string,
  value: Buffer,
  avro: AvroValueReader | undefined,
): Promise<Record<string, unknown>> {
  const framed = unframe(value);
  if (!framed) {
    const json = parseJson(value);
    if (isObject(json)) return json;
    throw new InvalidEventError(
      `value is neither a JSON object nor in Schema Registry format (first byte 0x${(value[0] ?? 0).toString(16).padStart(2, '0')}); ` +
        `declare the table with 'value.format' = 'json' (Apache Flink) or 'json-registry' (Confluent Cloud)`,
    );
  }
  // json-registry: JSON text after the header; nothing to look up.
  const json = parseJson(framed.payload);
  if (isObject(json)) return json;
  if (!avro) {
    throw new InvalidEventError(
      `value is Avro (or Protobuf) with schema id ${framed.schemaId}, but no [schema-registry] section is configured; ` +
        `add one with url and basic.auth.user.info to the config file, ${FIX_TABLE}`,
    );
  }
  const decoded = await avro.read(topic, value, framed.schemaId);
  if (!isObject(decoded)) {
    throw new InvalidEventError(
      `value with schema id ${framed.schemaId} is not a record with status and timestamp fields; ${FIX_TABLE}`,
    );
  }
  return decoded;
}

function decodeKey(record: StatusRecord): string {
  if (record.keyBytes) {
    const framed = unframe(record.keyBytes);
    const orderId = framed ? readKeyPayload(framed.payload) : record.keyBytes.toString('utf8');
    if (orderId) return orderId;
  }
  throw new InvalidEventError(
    !record.keyBytes
      ? 'record has no key and no orderid field in its value; the order id is expected in one of them'
      : "key is in Schema Registry format but holds neither a JSON nor an Avro string; declare the table with 'key.format' = 'raw'",
  );
}

function statusUpdate(orderId: string, fields: Record<string, unknown>): StatusUpdate {
  const status = toNumber(fields.status);
  const timestamp = toNumber(fields.timestamp);
  if (status === undefined || !Number.isInteger(status) || timestamp === undefined) {
    throw new InvalidEventError(
      `value has no numeric status and timestamp (fields: ${Object.keys(fields).join(', ') || 'none'}); ` +
        'the table needs the columns orderid, status and timestamp (see `pizza flink:print`)',
    );
  }
  return { orderId, status, timestamp };
}

// Avro longs may come as bigint, JSON numbers sometimes as strings: accept both.
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** The decoder for the configured cluster: Avro through [schema-registry] when there is one. */
export function statusTopicDecoderFor(schemaRegistry: Record<string, string> | undefined): StatusRecordDecoder {
  return createStatusTopicDecoder({
    avro: schemaRegistry ? registryAvroReader({ section: schemaRegistry }) : undefined,
  });
}
