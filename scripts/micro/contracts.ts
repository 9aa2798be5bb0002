/**
 * Micro-benchmark of what the data contracts cost per event (issue 22), with
 * the real codec and Confluent's MockClient (no network: every schema is
 * looked up once, then cached, as against a real registry):
 *   - contracts off: a plain JSON record through the contract bus's read path
 *     (the first-byte look) against the handler called directly;
 *   - value_format = avro: a role's JSON framed as Avro on publish, and a
 *     framed record turned back into JSON on read, for pizza-ordered (the
 *     largest event) and pizza-baked (the smallest).
 *
 *   npx tsx scripts/micro/contracts.ts [events=100000] [repetitions=3]
 *
 * Prints µs of CPU per event (user + system, GC included) and the value sizes.
 */
import { MockClient } from '@confluentinc/schemaregistry';
import type { Bus, BusRecord, RecordHandler } from '../../src/adapters/bus/bus.js';
import { contractBus } from '../../src/adapters/contracts/contract-bus.js';
import { createValueCodec } from '../../src/adapters/contracts/value-codec.js';
import { loadSettings, type Settings } from '../../src/config/settings.js';

const EVENTS = Number(process.argv[2] ?? 100_000);
const REPETITIONS = Number(process.argv[3] ?? 3);

const base = loadSettings({ timeScale: '0' });
const settingsFor = (valueFormat: 'json' | 'avro', registry: boolean): Settings => ({
  ...base,
  schemaRegistry: registry ? { url: 'http://mock' } : undefined,
  shop: { ...base.shop, contracts: { valueFormat, dir: undefined } },
});

const events = {
  ordered: JSON.stringify({
    status: 100,
    timestamp: 1_765_000_000_123,
    order: {
      extra_toppings: ['Onion', 'Egg'],
      sauce: 'Pesto',
      cheese: 'Gouda',
      main_topping: 'Chicken',
      customer_id: '8f14e45fceea167a5a36dedd4bea2543',
      username: 'kafka-fan',
    },
  }),
  baked: JSON.stringify({ status: 300, timestamp: 1_765_000_000_123 }),
};

/** µs of CPU per call of `work`, the best of the repetitions (the machine is shared). */
async function cpuPerCall(work: (index: number) => unknown): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let repetition = 0; repetition < REPETITIONS; repetition++) {
    const before = process.cpuUsage();
    for (let index = 0; index < EVENTS; index++) {
      const result = work(index);
      if (result instanceof Promise) await result;
    }
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / EVENTS);
  }
  return best;
}

const record = (topic: string, value: Buffer): BusRecord => ({
  topic,
  partition: 0,
  offset: '0',
  key: 'c0ffee42',
  keyBytes: Buffer.from('c0ffee42'),
  value,
  timestamp: 0,
  headers: {},
});

/** The handler the contract bus hands a subscription, captured from a bus that does nothing else. */
async function wrappedHandler(handle: RecordHandler): Promise<RecordHandler> {
  let wrapped: RecordHandler | undefined;
  const capture = {
    subscribe: async (options: { handle: RecordHandler }) => {
      wrapped = options.handle;
      return { joined: () => true, stop: async () => {} };
    },
  } as unknown as Bus;
  await contractBus(capture, createValueCodec({ settings: settingsFor('json', false) })).subscribe({
    handle,
  } as never);
  if (!wrapped) throw new Error('no handler captured');
  return wrapped;
}

async function main(): Promise<void> {
  const signal = new AbortController().signal;
  let handled = 0;
  const handle: RecordHandler = async () => {
    handled += 1;
  };
  const plain = record(base.topics.baked, Buffer.from(events.baked));
  const direct = await cpuPerCall(() => handle(plain, signal));
  const wrapped = await wrappedHandler(handle);
  const throughBus = await cpuPerCall(() => wrapped(plain, signal));
  console.log(
    `contracts off, a plain record read: ${direct.toFixed(3)} µs direct, ${throughBus.toFixed(3)} µs through the contract bus`,
  );

  const client = new MockClient({ baseURLs: ['mock://'] });
  const writer = createValueCodec({ settings: settingsFor('avro', true), client: async () => client });
  const reader = createValueCodec({ settings: settingsFor('json', true), client: async () => client });
  for (const [key, json] of Object.entries(events) as Array<[keyof typeof events, string]>) {
    const topic = base.topics[key];
    await writer.register([topic]);
    const bytes = Buffer.from(json);
    const framed = await writer.encode(topic, bytes);
    await reader.decode(topic, framed);
    const encode = await cpuPerCall(() => writer.encode(topic, bytes));
    const decode = await cpuPerCall(() => reader.decode(topic, framed));
    console.log(
      `${topic}: JSON ${bytes.length} B, framed Avro ${framed.length} B; ` +
        `encode ${encode.toFixed(2)} µs, decode ${decode.toFixed(2)} µs of CPU per event`,
    );
  }
  if (handled === 0) throw new Error('nothing handled');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
