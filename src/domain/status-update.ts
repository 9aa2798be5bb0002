/** A status change for one order, whichever topic it came from. */
export interface StatusUpdate {
  orderId: string;
  status: number;
  timestamp: number;
}

/**
 * What a status decoder reads of a record: the bus's records fit it, and the
 * domain stays free of any bus. `keyBytes` are the key as it was on the wire
 * (a Schema Registry framed key is not text).
 */
export interface StatusRecord {
  topic: string;
  keyBytes: Buffer | null;
  value: Buffer | null;
}

/** Turns a record into a status update; undefined for a record to pass over (a tombstone). */
export type StatusRecordDecoder = (record: StatusRecord) => Promise<StatusUpdate | undefined>;
