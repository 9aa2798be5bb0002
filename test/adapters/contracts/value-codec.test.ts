import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AvroDeserializer, AvroSerializer, type Client, MockClient, SerdeType } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyFailure } from '../../../src/adapters/bus/failures.js';
import { SHIPPED_CONTRACTS_DIR } from '../../../src/adapters/contracts/contracts.js';
import { createValueCodec, type ValueCodec } from '../../../src/adapters/contracts/value-codec.js';
import type { Settings } from '../../../src/config/settings.js';
import { InvalidEventError } from '../../../src/domain/events.js';
import { PizzaError } from '../../../src/errors.js';
import { V1_CONTRACTS } from '../../support/contract-versions.js';
import { withValueFormat } from '../../support/contracts.js';
import { testSettings } from '../../support/settings.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** The settings of a shop with value_format = avro (or json) and a registry, or none. */
function contractSettings(valueFormat: 'json' | 'avro', registry = true): Settings {
  const fixture = testSettings();
  cleanups.push(fixture.cleanup);
  return withValueFormat(fixture.settings, valueFormat, registry ? 'http://registry.invalid:8081' : undefined);
}

function codec(settings: Settings, client: Client = new MockClient({ baseURLs: ['mock://'] })): ValueCodec {
  return createValueCodec({ settings, client: async () => client });
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
const parse = (value: Buffer) => JSON.parse(value.toString('utf8')) as unknown;
const contractType = (file: string) =>
  avro.Type.forSchema(JSON.parse(readFileSync(join(SHIPPED_CONTRACTS_DIR, file), 'utf8')) as avro.Schema);

const ORDERED = {
  status: 100,
  timestamp: 1_765_000_000_123,
  order: {
    extra_toppings: ['Onion', 'Egg'],
    sauce: 'Pesto',
    cheese: 'Gouda',
    main_topping: 'Chicken',
    customer_id: '8f14e45fceea167a5a36dedd4bea2543',
    username: 'avro-fan',
    // Optional (contract version 2): present here so that Confluent's serde round-trips it both ways.
    delivery_note: 'ring twice',
  },
};

async function frame(codec: ValueCodec, topic: string, value: unknown): Promise<Buffer> {
  return await codec.encode(topic, json(value));
}

describe('the value codec: plain JSON for the roles, framed Avro on the wire', () => {
  it('frames a role JSON as 0x00, the schema id the registry gave its contract, then the Avro body, and reads it back', async () => {
    const settings = contractSettings('avro');
    const client = new MockClient({ baseURLs: ['mock://'] });
    const values = codec(settings, client);
    const [registered] = await values.register([settings.topics.ordered]);
    expect(registered).toMatchObject({ topic: settings.topics.ordered, subject: `${settings.topics.ordered}-value` });

    const framed = await frame(values, settings.topics.ordered, ORDERED);
    expect(framed[0]).toBe(0);
    expect(framed.readUInt32BE(1)).toBe(registered?.id);
    // The body is the contract's Avro, as any Schema Registry client reads it.
    expect(contractType('pizza-ordered.avsc').fromBuffer(framed.subarray(5))).toMatchObject(ORDERED);
    expect(parse(await values.decode(settings.topics.ordered, framed))).toEqual(ORDERED);
  });

  it("speaks Confluent's wire format: its AvroDeserializer reads what we frame, and we read what its AvroSerializer frames", async () => {
    const settings = contractSettings('avro');
    const client = new MockClient({ baseURLs: ['mock://'] });
    const values = codec(settings, client);
    const [registered] = await values.register([settings.topics.ordered]);
    const theirs = new AvroDeserializer(client, SerdeType.VALUE, {});
    expect(
      await theirs.deserialize(settings.topics.ordered, await frame(values, settings.topics.ordered, ORDERED)),
    ).toEqual(ORDERED);
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: registered?.id ?? -1 });
    const framed = await serializer.serialize(settings.topics.ordered, ORDERED);
    expect(parse(await codec(contractSettings('json'), client).decode(settings.topics.ordered, framed))).toEqual(
      ORDERED,
    );
  });

  it('writes an absent optional field as null, and hands a null back as absent', async () => {
    const settings = contractSettings('avro');
    const values = codec(settings);
    const cancelled = { status: 990, timestamp: 1_765_000_000_000 };
    const framed = await frame(values, settings.topics.cancelled, cancelled);
    expect(contractType('pizza-cancelled.avsc').fromBuffer(framed.subarray(5))).toMatchObject({ refused: null });
    const plain = parse(await values.decode(settings.topics.cancelled, framed));
    expect(plain).toEqual(cancelled);
    expect(Object.keys(plain as object)).not.toContain('refused');

    const refused = { status: 300, refused: 'too-late', timestamp: 1_765_000_000_000 };
    expect(
      parse(await values.decode(settings.topics.cancelled, await frame(values, settings.topics.cancelled, refused))),
    ).toEqual(refused);
  });

  it('refuses to write JSON that does not fit its contract, naming the field', async () => {
    const settings = contractSettings('avro');
    const values = codec(settings);
    await expect(frame(values, settings.topics.baked, { status: '300', timestamp: 1 })).rejects.toThrow(
      /does not fit its contract \(.*pizza-baked\.avsc\): status = "300"/,
    );
    await expect(frame(values, settings.topics.baked, { status: 300, timestamp: 1, oven: 2 })).rejects.toThrow(
      /does not fit its contract/,
    );
  });

  it('dead-letters a framed record when no registry is configured, saying so', async () => {
    const settings = contractSettings('json', false);
    const values = createValueCodec({ settings });
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), Buffer.from([2, 4])]);
    const failure = values.decode(settings.topics.baked, framed);
    await expect(failure).rejects.toBeInstanceOf(InvalidEventError);
    await expect(failure).rejects.toThrow(/schema id 7\) but no \[schema-registry\] section is configured/);
  });

  it('dead-letters a record whose schema id the registry does not know', async () => {
    const settings = contractSettings('json');
    const values = codec(settings);
    const failure = values.decode(settings.topics.baked, Buffer.from([0, 0, 1, 0, 1, 2, 4]));
    await expect(failure).rejects.toBeInstanceOf(InvalidEventError);
    await expect(failure).rejects.toThrow(/schema id 65537, which Schema Registry does not know/);
  });

  it('dead-letters bytes that do not match their schema, or too short to hold an id', async () => {
    const settings = contractSettings('avro');
    const values = codec(settings);
    const framed = await frame(values, settings.topics.baked, { status: 300, timestamp: 1_765_000_000_000 });
    for (const bad of [framed.subarray(0, framed.length - 1), Buffer.concat([framed, Buffer.from([1])])]) {
      const failure = values.decode(settings.topics.baked, bad);
      await expect(failure).rejects.toBeInstanceOf(InvalidEventError);
      await expect(failure).rejects.toThrow(
        /does not match its schema \(id \d+, pizza\.events\.PizzaBaked\): (truncated buffer|trailing data)/,
      );
    }
    await expect(values.decode(settings.topics.baked, Buffer.from([0, 0, 1]))).rejects.toThrow(
      /too short for a schema id/,
    );
  });

  it.each([
    ['a refused connection', { code: 'ECONNREFUSED' }],
    ['a timeout', { code: 'ECONNABORTED' }],
    ['HTTP 503', { status: 503 }],
  ])('waits out a registry that cannot be reached (%s): never a bad event', async (_, problem) => {
    const settings = contractSettings('avro');
    const outage = Object.assign(new Error('registry down'), problem);
    const down = new Proxy(new MockClient({ baseURLs: ['mock://'] }), {
      get: (target, property) => {
        const member = Reflect.get(target, property);
        return typeof member === 'function' ? async () => Promise.reject(outage) : member;
      },
    });
    const values = codec(settings, down);
    for (const failure of [
      values.decode(settings.topics.baked, Buffer.from([0, 0, 0, 0, 1, 2, 4])),
      Promise.resolve().then(() => values.encode(settings.topics.baked, json({ status: 300, timestamp: 1 }))),
      values.register([settings.topics.baked]),
    ]) {
      const error = await failure.then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(PizzaError.is(error, 'SCHEMA_REGISTRY_UNAVAILABLE')).toBe(true);
      expect(classifyFailure(error)).toBe('unavailable');
    }
  });

  it.each([
    [409, /refused the contract of pizza-baked \(subject pizza-baked-value, .*pizza-baked\.avsc\): it is incompatible/],
    [422, /refused the contract of pizza-baked \(subject pizza-baked-value, .*\): the registry finds it invalid/],
  ])(
    'stops a role whose contract the registry refuses (HTTP %i), naming the topic and subject',
    async (status, line) => {
      const settings = contractSettings('avro');
      const refusing = new MockClient({ baseURLs: ['mock://'] });
      refusing.register = async () => Promise.reject(Object.assign(new Error('refused'), { status }));
      const error = await codec(settings, refusing)
        .register([settings.topics.baked])
        .catch((reason: unknown) => reason);
      expect(PizzaError.is(error, 'SCHEMA_REFUSED')).toBe(true);
      expect((error as PizzaError).userFacing).toBe(true);
      expect((error as Error).message).toMatch(line);
    },
  );

  it('finds a contract already registered rather than registering it again', async () => {
    const settings = contractSettings('avro');
    const client = new MockClient({ baseURLs: ['mock://'] });
    const [first] = await codec(settings, client).register([settings.topics.baked]);
    client.register = async () => Promise.reject(new Error('must not register twice'));
    const [again] = await codec(settings, client).register([settings.topics.baked]);
    expect(again?.id).toBe(first?.id);
  });

  it("reads each record into the process's own contract: an older role drops a field added since, a newer one reads an older record without it", async () => {
    const client = new MockClient({ baseURLs: ['mock://'] });
    const settings = contractSettings('avro');
    const topic = settings.topics.ordered;
    const onContracts = (dir: string | undefined) =>
      codec({ ...settings, shop: { ...settings.shop, contracts: { valueFormat: 'avro', dir } } }, client);
    const v2 = onContracts(undefined);
    const old = onContracts(V1_CONTRACTS);
    await old.register([topic]);
    await v2.register([topic]);

    const withNote = await frame(v2, topic, ORDERED);
    const { delivery_note: _note, ...orderWithoutNote } = ORDERED.order;
    const withoutNote = await frame(old, topic, { ...ORDERED, order: orderWithoutNote });
    expect(withNote.readUInt32BE(1)).not.toBe(withoutNote.readUInt32BE(1));

    // A role on v1 reads a v2 order as v1 has it: no note.
    expect(parse(await old.decode(topic, withNote))).toEqual({ ...ORDERED, order: orderWithoutNote });
    // A role on v2 reads a v1 order with the note's default (null), which the roles see as absent.
    expect(parse(await v2.decode(topic, withoutNote))).toEqual({ ...ORDERED, order: orderWithoutNote });
    expect(parse(await v2.decode(topic, withNote))).toEqual(ORDERED);
  });

  it('refuses, by name, a record written under a schema its contract cannot read', async () => {
    const settings = contractSettings('avro');
    const client = new MockClient({ baseURLs: ['mock://'] });
    const topic = settings.topics.baked;
    const foreign = await client.register(
      `${topic}-value`,
      {
        schemaType: 'AVRO',
        schema: JSON.stringify({
          type: 'record',
          name: 'PizzaBaked',
          namespace: 'pizza.events',
          fields: [{ name: 'status', type: 'string' }],
        }),
      },
      false,
    );
    const body = avro.Type.forSchema({
      type: 'record',
      name: 'X',
      fields: [{ name: 'status', type: 'string' }],
    }).toBuffer({ status: 'baked' });
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
    framed.writeUInt32BE(foreign, 1);
    const failure = await codec(settings, client)
      .decode(topic, framed)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvalidEventError);
    expect((failure as Error).message).toMatch(/which this role's contract \(.*pizza-baked\.avsc\) cannot read/);
  });
  it('sets FULL on a subject it is the first to write, and leaves the level of a subject that holds versions alone', async () => {
    const settings = contractSettings('avro');
    const client = new MockClient({ baseURLs: ['mock://'] });
    const baked = `${settings.topics.baked}-value`;
    const delivered = `${settings.topics.delivered}-value`;
    const deliveredContract = readFileSync(join(SHIPPED_CONTRACTS_DIR, 'pizza-delivered.avsc'), 'utf8');
    await client.register(delivered, { schemaType: 'AVRO', schema: deliveredContract }, false);
    await client.updateConfig(delivered, { compatibility: 'BACKWARD' as never });
    await codec(settings, client).register([settings.topics.baked, settings.topics.delivered]);
    // The mock keeps the config as given (compatibility); a real registry answers compatibilityLevel.
    const level = async (subject: string) => {
      const config = await client.getConfig(subject);
      return config.compatibility ?? config.compatibilityLevel;
    };
    expect(await level(baked)).toBe('FULL');
    expect(await level(delivered)).toBe('BACKWARD');
  });
});
