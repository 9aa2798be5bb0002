import { type Client, MockClient } from '@confluentinc/schemaregistry';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusRecord, SubscribeOptions } from '../../../src/adapters/bus/bus.js';
import { EmbeddedBus } from '../../../src/adapters/bus/embedded.js';
import { contractBus, withContracts } from '../../../src/adapters/contracts/contract-bus.js';
import { createValueCodec } from '../../../src/adapters/contracts/value-codec.js';
import type { Settings } from '../../../src/config/settings.js';
import { HEADERS } from '../../../src/domain/headers.js';
import { withValueFormat } from '../../support/contracts.js';
import { testSettings } from '../../support/settings.js';
import { waitFor } from '../../support/shop.js';

const DEAD_LETTERS = 'pizza-dead-letter';
const log = pino({ level: 'silent' });
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function settingsFor(valueFormat: 'json' | 'avro', registry: boolean): Settings {
  const fixture = testSettings();
  cleanups.push(fixture.cleanup);
  return withValueFormat(fixture.settings, valueFormat, registry ? 'http://registry.invalid:8081' : undefined);
}

function embedded(): EmbeddedBus {
  const bus = new EmbeddedBus({ partitions: 1, deadLetterTopic: DEAD_LETTERS });
  cleanups.push(() => bus.close());
  return bus;
}

/** One host of the fleet: its own codec, over the shared bus and registry. */
function host(bus: Bus, settings: Settings, client?: Client, loads?: { count: number }): Bus {
  return contractBus(
    bus,
    createValueCodec({
      settings,
      ...(client
        ? {
            client: async () => {
              if (loads) loads.count += 1;
              return client;
            },
          }
        : {}),
    }),
  );
}

async function collect(bus: Bus, topic: string, overrides: Partial<SubscribeOptions> = {}): Promise<BusRecord[]> {
  const seen: BusRecord[] = [];
  const subscription = await bus.subscribe({
    groupId: `reader-${topic}`,
    clientId: 'reader',
    topics: [topic],
    capacity: 4,
    role: 'bake',
    log,
    retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 20 },
    handle: async (record) => {
      seen.push(record);
    },
    ...overrides,
  });
  cleanups.push(() => subscription.stop());
  return seen;
}

const baked = (timestamp: number) => Buffer.from(JSON.stringify({ status: 300, timestamp }), 'utf8');
const text = (record: BusRecord | undefined) => record?.value?.toString('utf8');

describe('the contract bus: roles see plain JSON, record by record, whatever each writer uses', () => {
  it('hands a reader plain JSON from an Avro writer and a JSON writer alike, in the order they were written', async () => {
    const shared = embedded();
    const registry = new MockClient({ baseURLs: ['mock://'] });
    const avroWriter = host(shared, settingsFor('avro', true), registry);
    const settings = settingsFor('json', true);
    const jsonWriter = host(shared, settings, registry);
    const reader = host(shared, settings, registry);

    await avroWriter.publish(settings.topics.baked, 'order001', baked(1));
    await jsonWriter.publish(settings.topics.baked, 'order001', baked(2));
    await avroWriter.publish(settings.topics.baked, 'order001', baked(3));
    const onTheWire = await shared.readTopic(settings.topics.baked);
    expect(onTheWire.map((record) => record.value?.[0])).toEqual([0, '{'.charCodeAt(0), 0]);

    const seen = await collect(reader, settings.topics.baked);
    await waitFor(() => seen.length === 3, 'three records handled');
    expect(seen.map(text)).toEqual([1, 2, 3].map((timestamp) => baked(timestamp).toString('utf8')));
    // A bulk read (restoring state) gets plain JSON too.
    expect((await reader.readTopic(settings.topics.baked)).map(text)).toEqual(seen.map(text));
  });

  it('dead-letters a framed record when no registry is configured, with the reason, and goes on', async () => {
    const shared = embedded();
    const registry = new MockClient({ baseURLs: ['mock://'] });
    const settings = settingsFor('json', false);
    await host(shared, settingsFor('avro', true), registry).publish(settings.topics.baked, 'order002', baked(1));
    await shared.publish(settings.topics.baked, 'order003', baked(2));

    const seen = await collect(host(shared, settings), settings.topics.baked);
    await waitFor(() => seen.length === 1, 'the plain record handled');
    expect(seen[0]?.key).toBe('order003');
    const letters = await collect(shared, DEAD_LETTERS);
    await waitFor(() => letters.length === 1, 'one dead letter');
    const [letter] = letters;
    expect(letter?.headers[HEADERS.deadLetter.reason]?.toString()).toBe('bad-event');
    expect(letter?.headers[HEADERS.deadLetter.error]?.toString()).toMatch(
      /in Schema Registry format \(schema id \d+\) but no \[schema-registry\] section is configured/,
    );
    // The dead letter keeps the framed bytes as they were, for a replay once a registry is configured.
    expect(letter?.value?.[0]).toBe(0);
  });

  it.each([
    [
      'an unknown schema id',
      Buffer.from([0, 0, 0, 0x30, 0x39, 0x58, 0x02]),
      /schema id 12345, which Schema Registry does not know/,
    ],
    [
      'bytes that do not match their schema',
      Buffer.from([0, 0, 0, 0, 1, 0x58]),
      /does not match its schema \(id 1, pizza\.events\.PizzaBaked\): truncated buffer/,
    ],
  ])('dead-letters %s, with the reason', async (_, value, reason) => {
    const shared = embedded();
    const registry = new MockClient({ baseURLs: ['mock://'] });
    const settings = settingsFor('json', true);
    // Schema id 1: pizza-baked's contract.
    await host(shared, settingsFor('avro', true), registry).publish(settings.topics.baked, 'order007', baked(7));
    await shared.publish(settings.topics.baked, 'order008', value);
    const seen = await collect(host(shared, settings, registry), settings.topics.baked);
    const letters = await collect(shared, DEAD_LETTERS);
    await waitFor(() => seen.length === 1 && letters.length === 1, 'one record handled, one dead-lettered');
    expect(letters[0]?.key).toBe('order008');
    expect(letters[0]?.headers[HEADERS.deadLetter.reason]?.toString()).toBe('bad-event');
    expect(letters[0]?.headers[HEADERS.deadLetter.error]?.toString()).toMatch(reason);
  });

  it('waits out a registry that is down, and hands the record over once it is back: no dead letter', async () => {
    const shared = embedded();
    const registry = new MockClient({ baseURLs: ['mock://'] });
    const settings = settingsFor('json', true);
    await host(shared, settingsFor('avro', true), registry).publish(settings.topics.baked, 'order004', baked(4));
    let down = true;
    const flaky = new Proxy(registry, {
      get: (target, property) => {
        const member = Reflect.get(target, property);
        if (typeof member !== 'function') return member;
        return (...args: unknown[]) =>
          down
            ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
            : member.apply(target, args);
      },
    });
    let failures = 0;
    const seen = await collect(host(shared, settings, flaky), settings.topics.baked, {
      observer: {
        started: () => {},
        finished: () => {},
        failed: (_record, kind) => void (kind === 'unavailable' && failures++),
      },
    });
    await waitFor(() => failures >= 3, 'three attempts while the registry is down');
    expect(seen).toHaveLength(0);
    down = false;
    await waitFor(() => seen.length === 1, 'the record handled once the registry is back', 10_000);
    expect(text(seen[0])).toBe(baked(4).toString('utf8'));
    expect(await shared.readTopic(DEAD_LETTERS)).toHaveLength(0);
  });

  it('costs a first-byte look with contracts off: the same records and buffers pass, and no registry client is built', async () => {
    const shared = embedded();
    const settings = settingsFor('json', false);
    const loads = { count: 0 };
    const bus = host(shared, settings, new MockClient({ baseURLs: ['mock://'] }), loads);
    const value = baked(5);
    await bus.publish(settings.topics.baked, 'order005', value);
    const [written] = await shared.readTopic(settings.topics.baked);
    expect(written?.value).toBe(value);

    const handed: BusRecord[] = [];
    await collect(bus, settings.topics.baked, { handle: async (record) => void handed.push(record) });
    await waitFor(() => handed.length === 1, 'the record handled');
    // The very buffer the bus holds: no copy, no decoding.
    expect(handed[0]?.value).toBe(written?.value);
    expect(loads.count).toBe(0);
  });

  it('keeps the order of publishes made without waiting, before and after the contract is known', async () => {
    const shared = embedded();
    const settings = settingsFor('avro', true);
    const registry = new MockClient({ baseURLs: ['mock://'] });
    const bus = host(shared, settings, registry);
    // The first publishes wait for the contract's id; the later ones are framed at once.
    const first = [1, 2, 3].map((timestamp) => bus.publish(settings.topics.baked, 'order006', baked(timestamp)));
    await Promise.all(first);
    const later = [4, 5, 6].map((timestamp) => bus.publish(settings.topics.baked, 'order006', baked(timestamp)));
    await Promise.all(later);
    const plain = await host(shared, settingsFor('json', true), registry).readTopic(settings.topics.baked);
    expect(plain.map((record) => JSON.parse(text(record) ?? '{}').timestamp)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await shared.readTopic(settings.topics.baked)).every((record) => record.value?.[0] === 0)).toBe(true);
  });

  it('registers the contracts of the topics a role writes before it starts, and stops on a refusal', async () => {
    const settings = settingsFor('avro', true);
    const registry = new MockClient({ baseURLs: ['mock://'] });
    await withContracts(embedded(), {
      settings,
      writes: [settings.topics.delivered, settings.topics.pending],
      log,
      client: async () => registry,
    });
    expect((await registry.getAllSubjects()).sort()).toEqual([
      `${settings.topics.delivered}-value`,
      `${settings.topics.pending}-value`,
    ]);

    const refusing = new MockClient({ baseURLs: ['mock://'] });
    refusing.register = async () => Promise.reject(Object.assign(new Error('incompatible'), { status: 409 }));
    await expect(
      withContracts(embedded(), { settings, writes: [settings.topics.baked], log, client: async () => refusing }),
    ).rejects.toMatchObject({ code: 'SCHEMA_REFUSED' });
  });
});
