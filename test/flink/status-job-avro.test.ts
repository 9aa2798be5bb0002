import { randomUUID } from 'node:crypto';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { AvroSerializer, SchemaRegistryClient, SerdeType } from '@confluentinc/schemaregistry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Contract, loadContracts } from '../../src/adapters/contracts/contracts.js';
import { statusTopicDecoderFor } from '../../src/adapters/status-topic/decode.js';
import type { Settings } from '../../src/config/settings.js';
import type { StatusUpdate } from '../../src/domain/status-update.js';
import { flinkScript, loadFlinkStatements } from '../../src/flink/statements.js';
import { startShop } from '../../src/roles/shop.js';
import { cancelFlinkJobs, type FlinkSqlJobs, submitFlinkSql } from '../../tools/flink/client.js';
import { capturingLogs } from '../support/capture-logs.js';
import { flinkRunner } from '../support/flink.js';
import { ShopHttpClient } from '../support/http-client.js';
import { createTopicsKeptByCaller, deleteTopics, kafkaBootstrap } from '../support/kafka.js';
import { schemaRegistryUrl, withTestRegistry } from '../support/registry.js';
import { testSettings } from '../support/settings.js';
import { openOrders, viewStatus, waitFor } from '../support/shop.js';

/** A pizza-status record as it is on the wire, and as the shop's status reader decodes it. */
interface StatusRow {
  key: string;
  value: Buffer;
  decoded: StatusUpdate | undefined;
}

/** The suite's broker and registry, random topic names (so subjects no other test touches), and the contracts on. */
function contractSettings(base: Settings, bootstrapServers: string): Settings {
  const run = randomUUID().slice(0, 8);
  return withTestRegistry({
    ...base,
    kafka: { 'bootstrap.servers': bootstrapServers },
    topics: Object.fromEntries(
      Object.entries(base.topics).map(([key, name]) => [key, `${run}-${name}`]),
    ) as Settings['topics'],
    groupIds: Object.fromEntries(
      Object.entries(base.groupIds).map(([role, id]) => [role, `${run}-${id}`]),
    ) as Settings['groupIds'],
    topicConfig: { numPartitions: 1, replicationFactor: 1, replicationFactorIsDefault: false },
    // The view fed by the Flink job, as on Confluent Cloud.
    shop: { ...base.shop, statusSource: 'pizza-status' },
  });
}

describe('the pizza-status Flink job with the contracts on (avro-confluent, real registry)', () => {
  const bootstrapServers = kafkaBootstrap();
  const runner = flinkRunner();
  const registryUrl = schemaRegistryUrl();
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrapServers], logLevel: KafkaJS.logLevel.NOTHING } });
  const registry = new SchemaRegistryClient({ baseURLs: [registryUrl] });
  const fixture = testSettings({ timeScale: '0.001' });
  const settings = contractSettings(fixture.settings, bootstrapServers);
  const { topics } = settings;
  const statusSubject = `${topics.status}-value`;
  let contracts: Contract[] = [];
  let statusSchemaId = 0;
  let flink: FlinkSqlJobs | undefined;

  const flinkFailure = (error: Error): never => {
    throw new Error(`${error.message}\nFlink log (${runner.logFile}):\n${flink?.lines.join('\n')}`);
  };

  beforeAll(async () => {
    // Registered as `pizza schemas:check` does, before anything writes: the stage
    // contracts for the serializer below, pizza-status's to see that Flink adds no other.
    contracts = await loadContracts(settings.topics);
    for (const contract of contracts) {
      const id = await registry.register(contract.subject, { schemaType: 'AVRO', schema: contract.text }, false);
      if (contract.topicKey === 'status') statusSchemaId = id;
    }
    await createTopicsKeptByCaller(Object.values(topics), 1);
    // The SQL exactly as `pizza flink:print --dialect apache` prints it with the contracts on.
    flink = await submitFlinkSql(runner, flinkScript(await loadFlinkStatements(settings, 'apache')));
  }, 240_000);

  afterAll(async () => {
    if (flink) await cancelFlinkJobs(runner, flink.jobIds);
    await deleteTopics(Object.values(topics)).catch(() => {});
    fixture.cleanup();
  }, 60_000);

  /** Writes each value framed as Avro under its topic's contract, as a role with value_format = avro does. */
  const send = async (messages: Array<{ topic: string; key: string; value: Record<string, unknown> }>) => {
    const serializer = new AvroSerializer(registry, SerdeType.VALUE, {
      autoRegisterSchemas: false,
      useLatestVersion: true,
    });
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (const { topic, key, value } of messages) {
        await producer.send({ topic, messages: [{ key, value: await serializer.serialize(topic, value) }] });
      }
    } finally {
      await producer.disconnect();
    }
  };

  /** Collects pizza-status, each record decoded by the status role's decoder for a shop with [schema-registry]. */
  const watchStatusTopic = async (): Promise<{ rows: StatusRow[]; stop(): Promise<void> }> => {
    const decode = statusTopicDecoderFor(settings.schemaRegistry);
    const rows: StatusRow[] = [];
    const consumer = kafka.consumer({ kafkaJS: { groupId: `check-${randomUUID()}`, fromBeginning: true } });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.status] });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value ?? Buffer.alloc(0);
        const keyBytes = message.key ?? null;
        rows.push({
          key: keyBytes?.toString('utf8') ?? '',
          value,
          decoded: await decode({ topic: topics.status, keyBytes, value }),
        });
      },
    });
    return { rows, stop: () => consumer.disconnect() };
  };

  it('reads framed stage records, writes pizza-status framed under its contract, and the status reader reads the furthest step', async () => {
    expect(flink?.jobIds).toHaveLength(1);
    const { rows, stop } = await watchStatusTopic();
    const [delivered, pending, cancelled, refused, sentinel] = ['a1', 'b2', 'c3', 'd4', 'e5'].map(
      (id) => `${id}${randomUUID().slice(0, 6)}`,
    ) as [string, string, string, string, string];
    const t0 = Date.now();
    const ordered = (key: string) => ({
      topic: topics.ordered,
      key,
      value: {
        status: 100,
        timestamp: t0,
        order: {
          extra_toppings: ['olives'],
          sauce: 'tomato',
          cheese: 'mozzarella',
          main_topping: 'ham',
          customer_id: 'c'.repeat(32),
          username: 'avro',
        },
      },
    });
    await send([
      ...[delivered, pending, cancelled, refused].map(ordered),
      { topic: topics.assembled, key: delivered, value: { status: 200, baking_time: 12.5, timestamp: t0 + 1_000 } },
      { topic: topics.baked, key: delivered, value: { status: 300, timestamp: t0 + 2_000 } },
      { topic: topics.baked, key: pending, value: { status: 300, timestamp: t0 + 2_000 } },
      { topic: topics.pending, key: pending, value: { status: 150, timestamp: t0 + 3_000 } },
      { topic: topics.delivered, key: delivered, value: { status: 999, timestamp: t0 + 4_000 } },
      { topic: topics.cancelled, key: cancelled, value: { status: 499, timestamp: t0 + 2_000, refused: null } },
      // A refusal repeats the status the order has; the job leaves it out. The sentinel
      // behind it on the same topic and partition proves it has been read.
      { topic: topics.cancelled, key: refused, value: { status: 300, timestamp: t0 + 2_500, refused: 'too-late' } },
      { topic: topics.cancelled, key: sentinel, value: { status: 499, timestamp: t0 + 5_000, refused: null } },
    ]);
    const reached = (key: string, status: number) =>
      rows.some((row) => row.key === key && row.decoded?.status === status);
    await waitFor(
      () =>
        reached(delivered, 999) &&
        reached(pending, 150) &&
        reached(cancelled, 499) &&
        reached(sentinel, 499) &&
        rows.some((row) => row.key === refused),
      'the delivered, pending and cancelled rows and the sentinel',
      90_000,
    ).catch(flinkFailure);
    await stop();

    const latest = new Map(rows.map((row) => [row.key, row.decoded]));
    expect(Object.fromEntries(latest)).toEqual({
      [delivered]: { orderId: delivered, status: 999, timestamp: t0 + 4_000 },
      [pending]: { orderId: pending, status: 150, timestamp: t0 + 3_000 },
      [cancelled]: { orderId: cancelled, status: 499, timestamp: t0 + 2_000 },
      [refused]: { orderId: refused, status: 100, timestamp: t0 },
      [sentinel]: { orderId: sentinel, status: 499, timestamp: t0 + 5_000 },
    });
    // Framed: magic byte 0, then the id of the contract registered above, for every record.
    for (const row of rows) {
      expect(row.value[0]).toBe(0);
      expect(row.value.readUInt32BE(1)).toBe(statusSchemaId);
    }
    // Flink looked the contract up; it registered no schema of its own under the subject.
    expect(await registry.getAllVersions(statusSubject)).toEqual([1]);
  }, 120_000);
  it('carries an order placed on the web app through every role and the Flink job, framed Avro on every topic it crosses', async () => {
    const { rows, stop } = await watchStatusTopic();
    const shop = await startShop({
      settings,
      roles: ['serve', 'assemble', 'bake', 'deliver', 'status'],
      logs: capturingLogs(),
    });
    let orderId = '';
    try {
      const customer = new ShopHttpClient(shop.url ?? '');
      await customer.login('flink-avro');
      orderId = await customer.order({ sauce: 'Pesto', cheese: 'Gouda', mainTopping: 'Chicken', extraToppings: [] });
      // The view reads pizza-status (statusSource pizza-status): delivered comes through Flink.
      await waitFor(() => viewStatus(settings, orderId) === 999, 'the order delivered in the view', 90_000).catch(
        flinkFailure,
      );
    } finally {
      await shop.stop();
      await stop();
    }
    const view = openOrders(settings);
    try {
      const throughFlink = view.listEvents(orderId).filter((event) => event.topic === topics.status);
      expect(throughFlink.at(-1)?.status).toBe(999);
    } finally {
      view.close();
    }
    // Every record of the order, on every topic it crossed, is framed under the topic's contract.
    const ids = new Map(
      await Promise.all(
        contracts.map(
          async (contract) =>
            [
              contract.topic,
              await registry.getId(contract.subject, { schemaType: 'AVRO', schema: contract.text }, false),
            ] as const,
        ),
      ),
    );
    const crossed = [topics.ordered, topics.assembled, topics.baked, topics.delivered];
    for (const topic of crossed) {
      const values = await valuesOf(topic, orderId);
      expect(values.length, topic).toBeGreaterThan(0);
      for (const value of values) {
        expect(value[0], topic).toBe(0);
        expect(value.readUInt32BE(1), topic).toBe(ids.get(topic));
      }
    }
    const statusRows = rows.filter((row) => row.key === orderId);
    expect(statusRows.map((row) => row.decoded?.status).at(-1)).toBe(999);
    for (const row of statusRows) expect(row.value.readUInt32BE(1)).toBe(statusSchemaId);
  }, 180_000);

  /** The values of one order's records on a topic, read from the beginning. */
  const valuesOf = async (topic: string, orderId: string): Promise<Buffer[]> => {
    const values: Buffer[] = [];
    const consumer = kafka.consumer({ kafkaJS: { groupId: `check-${randomUUID()}`, fromBeginning: true } });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic] });
      let seen = false;
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen = true;
          if (message.key?.toString('utf8') === orderId && message.value) values.push(message.value);
        },
      });
      await waitFor(() => seen && values.length > 0, `${topic} read`, 30_000);
    } finally {
      await consumer.disconnect();
    }
    return values;
  };
});
