/**
 * The byte layouts a Flink-written `pizza-status` record can have, read without
 * any network access. Schema Registry serializers put a 5-byte header before the
 * payload: a 0x00 magic byte and the schema id as a 4-byte big-endian integer.
 */

export interface Framed {
  schemaId: number;
  payload: Buffer;
}

const HEADER_BYTES = 5;

/** The header and payload of a Schema Registry framed record; undefined for anything else. */
export function unframe(bytes: Buffer): Framed | undefined {
  if (bytes.length < HEADER_BYTES || bytes[0] !== 0) return undefined;
  return { schemaId: bytes.readUInt32BE(1), payload: bytes.subarray(HEADER_BYTES) };
}

/** JSON text as an object or a string, or undefined when the bytes are not JSON. */
export function parseJson(bytes: Buffer | string): unknown {
  try {
    return JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * An Avro-encoded string: a zigzag varint length, then that many UTF-8 bytes, and
 * nothing after. A record whose only field is a string encodes the same way, so
 * this also reads Flink's Avro key record `{orderid}` without its schema.
 */
export function readAvroString(bytes: Buffer): string | undefined {
  let encoded = 0;
  let index = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[index++];
    if (byte === undefined || shift > 28) return undefined;
    encoded |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
  }
  const length = (encoded >>> 1) ^ -(encoded & 1);
  if (length <= 0 || index + length !== bytes.length) return undefined;
  const body = bytes.subarray(index);
  const text = body.toString('utf8');
  // A lossless round trip means the bytes were valid UTF-8, not binary that happened to fit.
  return Buffer.from(text, 'utf8').equals(body) ? text : undefined;
}

/** The order id in a framed key's payload: JSON (`"id"` or `{"orderid": "id"}`) or Avro. */
export function readKeyPayload(payload: Buffer): string | undefined {
  const json = parseJson(payload);
  if (typeof json === 'string' && json) return json;
  if (json && typeof json === 'object') {
    const orderId = orderIdField(json as Record<string, unknown>);
    if (orderId !== undefined) return orderId;
  }
  return readAvroString(payload);
}

/** Field names in any case, as the workshop's and our tables spell them. */
export function lowerCaseFields(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([field, value]) => [field.toLowerCase(), value]));
}

export function orderIdField(record: Record<string, unknown>): string | undefined {
  const fields = lowerCaseFields(record);
  const orderId = fields.orderid ?? fields.order_id;
  return typeof orderId === 'string' && orderId ? orderId : undefined;
}
