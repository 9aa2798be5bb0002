import type { Logger } from 'pino';
import type { Settings } from '../../config/settings.js';
import { InvalidEventError } from '../../domain/events.js';
import { PizzaError } from '../../errors.js';
import type { Bus, BusRecord, Delivery, OutgoingHeaders, RecordHandler } from '../bus/bus.js';
import { createValueCodec, isFramed, type ValueCodec, type ValueCodecOptions } from './value-codec.js';

/**
 * The bus with the contracts applied, so roles and the domain keep reading and
 * writing plain JSON whatever is on the wire:
 * - every record read on a contract topic reaches the role as plain JSON: a
 *   framed one decoded with its writer's schema, a plain one as it is, record
 *   by record, so a fleet switches to Avro one role at a time;
 * - with value_format = avro, what the roles publish on those topics is framed
 *   Avro under the role's contract.
 * pizza-status is left to its own decoder (`status-topic/decode.ts`), which
 * also reads the other formats Flink may write. With contracts off, the cost
 * on a record is a look at its first byte; nothing is loaded.
 */
export function contractBus(bus: Bus, codec: ValueCodec): Bus {
  const decodeRecord = async (record: BusRecord & { value: Buffer }): Promise<BusRecord> => ({
    ...record,
    value: await codec.decode(record.topic, record.value),
  });
  const decoding =
    (handle: RecordHandler): RecordHandler =>
    (record, signal) => {
      if (!isFramed(record.value) || !codec.decodes(record.topic)) return handle(record, signal);
      return decodeRecord(record as BusRecord & { value: Buffer }).then((plain) => handle(plain, signal));
    };
  // Bulk reads (restoring state, listing cancels) keep a record that cannot be decoded as it is:
  // the role passes over it as over any bad record there; only a registry away fails the read.
  const decodeAll = (records: BusRecord[]): Promise<BusRecord[]> =>
    Promise.all(
      records.map((record) =>
        isFramed(record.value) && codec.decodes(record.topic)
          ? decodeRecord(record as BusRecord & { value: Buffer }).catch((error: unknown) => {
              if (error instanceof InvalidEventError) return record;
              throw error;
            })
          : record,
      ),
    );

  const applied: Pick<Bus, 'publish' | 'subscribe' | 'read' | 'readTopic' | 'readRanges'> = {
    publish(topic: string, key: string | Buffer, value: Buffer | null, headers?: OutgoingHeaders): Promise<Delivery> {
      if (value === null || isFramed(value) || !codec.encodes(topic)) return bus.publish(topic, key, value, headers);
      // Synchronous once the topic's contract is known: publishes reach the bus in the order the role made them,
      // in the role's async context (an exactly-once publish joins the record's transaction through it).
      let framed: Buffer | Promise<Buffer>;
      try {
        framed = codec.encode(topic, value);
      } catch (error) {
        return Promise.reject(error);
      }
      return Buffer.isBuffer(framed)
        ? bus.publish(topic, key, framed, headers)
        : framed.then((bytes) => bus.publish(topic, key, bytes, headers));
    },
    subscribe: (options) => bus.subscribe({ ...options, handle: decoding(options.handle) }),
    read: (options) => bus.read({ ...options, handle: decoding(options.handle) }),
    readTopic: async (topic) => decodeAll(await bus.readTopic(topic)),
    readRanges: async (ranges) => decodeAll(await bus.readRanges(ranges)),
  };
  // Everything else is the bus itself, its own members included (the embedded bus's lineage figures):
  // whoever looks at the bus behind the roles still finds it.
  return new Proxy(bus, {
    get(target, property) {
      if (Object.hasOwn(applied, property)) return applied[property as keyof typeof applied];
      const member: unknown = Reflect.get(target, property, target);
      return typeof member === 'function' ? member.bind(target) : member;
    },
  });
}

export interface ContractsOptions {
  settings: Pick<Settings, 'topics' | 'schemaRegistry' | 'shop'>;
  /** The contract topics the roles of this process write: their contracts are registered (or found) now. */
  writes: readonly string[];
  log: Logger;
  /** See ValueCodecOptions.client. */
  client?: ValueCodecOptions['client'];
}

/**
 * The bus the roles get. With value_format = avro, the contracts of the topics
 * they write are registered (or found) before any role starts: a contract the
 * registry refuses stops the shop with one line (SCHEMA_REFUSED). A registry
 * away at start delays nothing: each topic's contract is looked up again on
 * its first publish, which waits for the registry like for the broker.
 */
export async function withContracts(bus: Bus, options: ContractsOptions): Promise<Bus> {
  const codec = createValueCodec(options);
  if (options.settings.shop.contracts.valueFormat === 'avro') {
    try {
      const registered = await codec.register(options.writes);
      if (registered.length > 0) options.log.info({ contracts: registered }, 'contracts found in Schema Registry');
    } catch (error) {
      if (!PizzaError.is(error, 'SCHEMA_REGISTRY_UNAVAILABLE')) throw error;
      options.log.warn(
        { err: error },
        'Schema Registry is not reachable: the contracts are looked up again on the first publish',
      );
    }
  }
  return contractBus(bus, codec);
}
