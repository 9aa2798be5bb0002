import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { type Contract, type ContractTopic, loadContracts } from '../../../src/adapters/contracts/contracts.js';
import { createStatusTopicDecoder } from '../../../src/adapters/status-topic/decode.js';
import { loadSettings, type Settings } from '../../../src/config/settings.js';
import {
  assembledEventSchema,
  cancelOutcomeSchema,
  cancelRequestSchema,
  orderedEvent,
  orderedEventSchema,
  statusEventSchema,
} from '../../../src/domain/events.js';
import type { Order } from '../../../src/domain/order.js';
import { BAKING_SECONDS } from '../../../src/domain/timings.js';
import { testSettings } from '../../support/settings.js';

/**
 * The domain and the contracts say the same thing about the shape of an event, one way:
 * every event the domain accepts is valid under its topic's contract (Avro cannot say "a
 * baking time within the recipe's range", so the domain stays the stricter one), and the
 * structural faults listed below are refused by both. JSON's absent optional field is
 * Avro's null (the contracts give each optional field `["null", T]` with default null).
 */

const INT32_MAX = 2 ** 31 - 1;
/** The last millisecond of the year 9999: the latest timestamp the domain accepts. */
const LAST_MILLIS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const RUNS = 300;

/** A seeded generator (mulberry32): the same events on every run, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Json = Record<string, unknown>;

/**
 * The Avro value of a JSON event, as the contracts define the mapping: a field absent
 * from the JSON takes its default (null for an optional field), everything else as is.
 */
function avroValue(schema: unknown, json: unknown): unknown {
  if (typeof schema === 'object' && schema !== null && !Array.isArray(schema)) {
    const named = schema as { type: string; fields?: { name: string; type: unknown; default?: unknown }[] };
    if (named.type === 'record' && named.fields && typeof json === 'object' && json !== null && !Array.isArray(json)) {
      const record = json as Json;
      return Object.fromEntries(
        named.fields.map((field) => [
          field.name,
          record[field.name] === undefined && 'default' in field
            ? field.default
            : avroValue(field.type, record[field.name]),
        ]),
      );
    }
  }
  return json;
}

describe('the contracts and the domain agree on the shape of every event', () => {
  let contracts: Map<ContractTopic, { contract: Contract; type: avro.Type }>;
  let settings: Settings;
  let cleanup: () => void;

  beforeAll(async () => {
    ({ settings, cleanup } = testSettings());
    const loaded = await loadContracts(settings.topics);
    contracts = new Map(
      loaded.map((contract) => [
        contract.topicKey,
        { contract, type: avro.Type.forSchema(contract.schema as Parameters<typeof avro.Type.forSchema>[0]) },
      ]),
    );
  });
  afterAll(() => cleanup());

  const contractFor = (topic: ContractTopic) => {
    const found = contracts.get(topic);
    if (!found) throw new Error(`no contract for ${topic}`);
    return found;
  };
  /** Errors avsc finds in the event's Avro value, as `path: type` lines; none when it is valid. */
  const contractErrors = (topic: ContractTopic, json: unknown): string[] => {
    const { contract, type } = contractFor(topic);
    const errors: string[] = [];
    type.isValid(avroValue(contract.schema, json), {
      errorHook: (path, _value, wrong) => errors.push(`${path.join('.') || '(the value)'}: not ${wrong.toString()}`),
    });
    return errors;
  };

  /** The events the roles write, built as they build them, from fuzzed inputs. */
  function fuzzedEvents(seed: number): { topic: ContractTopic; schema: z.ZodType; event: Json }[] {
    const next = random(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    const hex = (length: number) => Array.from({ length }, () => pick([...'0123456789abcdef'])).join('');
    const { menu } = settings;
    const ids = Object.values(settings.statuses.ids);
    // Timestamps from 0 to about the year 2100, and the extremes the domain allows.
    const timestamp = () => pick([0, LAST_MILLIS, Math.floor(next() * 4_102_444_800_000)]);
    const status = () => pick([...ids, 1, INT32_MAX, -(2 ** 31), Math.floor(next() * 10_000)]);
    const username = () =>
      pick(['ana', 'Zoë', '🍕', '👩🏽‍💻 dev', 'x'.repeat(16), '李小龍', 'O\'Brien "Bob"', 'back\\slash']);
    const events: { topic: ContractTopic; schema: z.ZodType; event: Json }[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const order: Order = {
        orderId: hex(8),
        customerId: pick([hex(32), hex(32).toUpperCase()]),
        username: username(),
        sauce: pick(menu.sauce),
        cheese: pick(menu.cheese),
        mainTopping: pick(menu.mainTopping),
        extraToppings: menu.extraToppings.filter(() => next() < 0.4),
      };
      const bakingTime = pick([
        BAKING_SECONDS.min,
        BAKING_SECONDS.max,
        BAKING_SECONDS.min + next() * (BAKING_SECONDS.max - BAKING_SECONDS.min),
      ]);
      events.push(
        { topic: 'ordered', schema: orderedEventSchema, event: orderedEvent(order, status(), timestamp()) },
        {
          topic: 'assembled',
          schema: assembledEventSchema,
          event: { status: status(), baking_time: bakingTime, timestamp: timestamp() },
        },
        { topic: 'baked', schema: statusEventSchema, event: { status: status(), timestamp: timestamp() } },
        { topic: 'delivered', schema: statusEventSchema, event: { status: status(), timestamp: timestamp() } },
        { topic: 'pending', schema: statusEventSchema, event: { status: status(), timestamp: timestamp() } },
        {
          topic: 'cancelRequested',
          schema: cancelRequestSchema,
          event: { timestamp: timestamp(), customer_id: order.customerId },
        },
        {
          topic: 'cancelled',
          schema: cancelOutcomeSchema,
          event:
            next() < 0.5
              ? { status: status(), timestamp: timestamp() }
              : { status: status(), refused: 'too-late', timestamp: timestamp() },
        },
      );
    }
    return events;
  }

  it(`accepts under its contract every event the domain accepts (${RUNS} fuzzed orders, every topic)`, () => {
    const events = fuzzedEvents(22);
    expect(events.length).toBe(RUNS * 7);
    for (const { topic, schema, event } of events) {
      const parsed = schema.safeParse(JSON.parse(JSON.stringify(event)));
      expect(parsed.success, `${topic}: the domain refuses ${JSON.stringify(event)}`).toBe(true);
      expect(contractErrors(topic, parsed.data), `${topic}: ${JSON.stringify(event)}`).toEqual([]);
      // The Avro bytes give back the same event: the wire shape is the JSON shape, field for field.
      const { contract, type } = contractFor(topic);
      const value = avroValue(contract.schema, parsed.data);
      expect(type.fromBuffer(type.toBuffer(value))).toEqual(value);
    }
  });

  it('accepts the pizza-status record built from a status update the view accepts', async () => {
    const decode = createStatusTopicDecoder({ avro: undefined });
    const next = random(7);
    for (let run = 0; run < RUNS; run += 1) {
      const row = {
        orderid: Math.floor(next() * 2 ** 32)
          .toString(16)
          .padStart(8, '0'),
        status: Math.floor(next() * 1000),
        timestamp: Math.floor(next() * 4_102_444_800_000),
      };
      const update = await decode({
        topic: settings.topics.status,
        keyBytes: Buffer.from(row.orderid),
        value: Buffer.from(JSON.stringify(row)),
      });
      expect(update).toEqual({ orderId: row.orderid, status: row.status, timestamp: row.timestamp });
      expect(contractErrors('status', row)).toEqual([]);
    }
  });

  const valid: Record<Exclude<ContractTopic, 'status'>, Json> = {
    ordered: {
      status: 100,
      timestamp: 1_700_000_000_000,
      order: {
        extra_toppings: ['olives'],
        sauce: 'tomato',
        cheese: 'mozzarella',
        main_topping: 'ham',
        customer_id: 'a'.repeat(32),
        username: 'ana',
      },
    },
    assembled: { status: 200, baking_time: 10, timestamp: 1_700_000_000_000 },
    baked: { status: 300, timestamp: 1_700_000_000_000 },
    delivered: { status: 999, timestamp: 1_700_000_000_000 },
    pending: { status: 400, timestamp: 1_700_000_000_000 },
    cancelRequested: { timestamp: 1_700_000_000_000, customer_id: 'a'.repeat(32) },
    cancelled: { status: 499, timestamp: 1_700_000_000_000 },
  };
  const schemas: Record<Exclude<ContractTopic, 'status'>, z.ZodType> = {
    ordered: orderedEventSchema,
    assembled: assembledEventSchema,
    baked: statusEventSchema,
    delivered: statusEventSchema,
    pending: statusEventSchema,
    cancelRequested: cancelRequestSchema,
    cancelled: cancelOutcomeSchema,
  };

  /** A copy of a valid event with one change at a path: `undefined` removes the field. */
  function faulty(topic: Exclude<ContractTopic, 'status'>, path: string[], value: unknown): unknown {
    const copy = structuredClone(valid[topic]);
    let holder: Json = copy;
    for (const key of path.slice(0, -1)) holder = holder[key] as Json;
    const last = path.at(-1) as string;
    if (value === undefined) delete holder[last];
    else holder[last] = value;
    return copy;
  }

  const FAULTS: [string, Exclude<ContractTopic, 'status'>, unknown][] = [
    ['a missing status', 'ordered', faulty('ordered', ['status'], undefined)],
    ['a missing timestamp', 'baked', faulty('baked', ['timestamp'], undefined)],
    ['a missing nested field (order.sauce)', 'ordered', faulty('ordered', ['order', 'sauce'], undefined)],
    ['a missing record (order)', 'ordered', faulty('ordered', ['order'], undefined)],
    ['a missing baking_time', 'assembled', faulty('assembled', ['baking_time'], undefined)],
    ['a missing customer_id', 'cancelRequested', faulty('cancelRequested', ['customer_id'], undefined)],
    ['a string for a number (status "100")', 'ordered', faulty('ordered', ['status'], '100')],
    ['a string for a number (timestamp)', 'delivered', faulty('delivered', ['timestamp'], '1700000000000')],
    ['a string for a number (baking_time "10")', 'assembled', faulty('assembled', ['baking_time'], '10')],
    ['a fraction for an int (status 1.5)', 'pending', faulty('pending', ['status'], 1.5)],
    ['a fraction for a long (timestamp)', 'baked', faulty('baked', ['timestamp'], 1_700_000_000_000.5)],
    ['a status beyond a 32-bit int', 'delivered', faulty('delivered', ['status'], INT32_MAX + 1)],
    ['a timestamp beyond a safe long', 'baked', faulty('baked', ['timestamp'], Number.MAX_SAFE_INTEGER)],
    ['a boolean for a number', 'pending', faulty('pending', ['status'], true)],
    ['null for a required field', 'ordered', faulty('ordered', ['order', 'cheese'], null)],
    ['a number for a string', 'cancelRequested', faulty('cancelRequested', ['customer_id'], 12345)],
    ['a string for an array (extra_toppings)', 'ordered', faulty('ordered', ['order', 'extra_toppings'], 'olives')],
    ['a number inside the array', 'ordered', faulty('ordered', ['order', 'extra_toppings'], ['olives', 3])],
    ['an object for a string', 'ordered', faulty('ordered', ['order', 'username'], { name: 'ana' })],
    ['a number for an optional string (refused)', 'cancelled', faulty('cancelled', ['refused'], 1)],
    ['an array for the event', 'baked', [300, 1_700_000_000_000]],
    ['a string for the event', 'baked', 'baked'],
    ['null for the event', 'baked', null],
  ];

  it.each(FAULTS)('refuses %s, in the domain and under the contract', (_name, topic, event) => {
    expect(schemas[topic].safeParse(event).success).toBe(false);
    expect(contractErrors(topic, event)).not.toEqual([]);
  });

  it('checks the faults against valid events that both accept', () => {
    for (const [topic, event] of Object.entries(valid) as [Exclude<ContractTopic, 'status'>, Json][]) {
      expect(schemas[topic].safeParse(event).success, topic).toBe(true);
      expect(contractErrors(topic, event), topic).toEqual([]);
    }
  });

  it('takes only [status-id] values that fit the contracts (32-bit ints)', () => {
    const delivered = (id: string) =>
      loadSettings({}, { env: { PIZZA__STATUS_2D_ID__DELIVERED: id } }).statuses.ids.delivered;
    expect(delivered(String(INT32_MAX))).toBe(INT32_MAX);
    expect(() => delivered(String(INT32_MAX + 1))).toThrow(/\[status-id\] delivered must be a whole number/);
    expect(contractErrors('delivered', { status: INT32_MAX, timestamp: 0 })).toEqual([]);
  });

  it('refuses a pizza-status record without a numeric status, in the status view and under the contract', async () => {
    const decode = createStatusTopicDecoder({ avro: undefined });
    for (const row of [
      { orderid: 'abcd1234', timestamp: 1 },
      { orderid: 'abcd1234', status: 'baked', timestamp: 1 },
    ]) {
      await expect(
        decode({ topic: settings.topics.status, keyBytes: null, value: Buffer.from(JSON.stringify(row)) }),
      ).rejects.toThrow(/no numeric status/);
      expect(contractErrors('status', row)).not.toEqual([]);
    }
  });
});
