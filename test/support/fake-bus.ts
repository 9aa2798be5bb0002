import type {
  Bus,
  BusRecord,
  Connectivity,
  Delivery,
  HostRead,
  HostReaderState,
  OutgoingHeaders,
  PartitionOffset,
  PartitionRange,
  Subscription,
} from '../../src/adapters/bus/bus.js';

/** One publish, as the handler made it. */
export interface Published {
  topic: string;
  key: string;
  value: Buffer | null;
  headers: OutgoingHeaders;
}

/**
 * A bus that only records what is published, for calling a role's handler
 * directly: no consumer groups, and nothing to read back (a handler reads
 * only the record it is given).
 */
export class FakeBus implements Bus {
  readonly kind = 'embedded' as const;
  readonly published: Published[] = [];

  async publish(
    topic: string,
    key: string | Buffer,
    value: Buffer | null,
    headers: OutgoingHeaders = {},
  ): Promise<Delivery> {
    const offset = String(this.published.filter((sent) => sent.topic === topic).length);
    this.published.push({ topic, key: key.toString(), value, headers });
    return { topic, partition: 0, offset };
  }

  /** Each publish's topic, key and value parsed as JSON, in the order they were made. */
  sent(): Array<{ topic: string; key: string; json: unknown }> {
    return this.published.map(({ topic, key, value }) => ({
      topic,
      key,
      json: value === null ? null : JSON.parse(value.toString('utf8')),
    }));
  }

  async requireTopics(): Promise<void> {}

  subscribe(): Promise<Subscription> {
    return Promise.reject(new Error('FakeBus: call the handler directly; it has no consumer groups'));
  }

  read(): Promise<HostRead> {
    return Promise.reject(new Error('FakeBus: call the handler directly; it has no host readers'));
  }

  hostReaders(): HostReaderState[] {
    return [];
  }

  connectivity(): Connectivity {
    return { up: true, since: 0, outages: 0 };
  }

  async readTopic(_topic: string): Promise<BusRecord[]> {
    return [];
  }

  async readRanges(_ranges: readonly PartitionRange[]): Promise<BusRecord[]> {
    return [];
  }

  async committedOffsets(): Promise<PartitionOffset[]> {
    return [];
  }

  async close(): Promise<void> {}
}

/** A record as a consumer would hand it to a handler: the key as text and bytes, a JSON value. */
export function busRecord(
  topic: string,
  key: string | Buffer | null,
  value: unknown,
  fields: Partial<Pick<BusRecord, 'partition' | 'offset' | 'timestamp' | 'headers'>> = {},
): BusRecord {
  const keyBytes = key === null ? null : Buffer.from(key);
  return {
    topic,
    partition: 0,
    offset: '0',
    timestamp: 0,
    headers: {},
    ...fields,
    key: keyBytes === null ? null : keyBytes.toString('utf8'),
    keyBytes,
    value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value)),
  };
}
