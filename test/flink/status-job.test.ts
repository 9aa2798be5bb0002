import { randomUUID } from 'node:crypto';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Settings } from '../../src/config/settings.js';
import { cancelOutcomeOf } from '../../src/domain/cancel.js';
import { lifecycleRank } from '../../src/domain/status-view.js';
import { flinkScript, flinkStatements } from '../../src/flink/statements.js';
import { startShop } from '../../src/roles/shop.js';
import { cancelFlinkJobs, type FlinkSqlJobs, submitFlinkSql } from '../../tools/flink/client.js';
import { capturingLogs } from '../support/capture-logs.js';
import { flinkRunner } from '../support/flink.js';
import { createTopicsKeptByCaller, deleteTopics, kafkaBootstrap } from '../support/kafka.js';
import { testSettings } from '../support/settings.js';
import { openOrders, placeOrder, sampleOrder, viewStatus, waitFor } from '../support/shop.js';

interface StatusRow {
  orderid: string;
  status: number;
  timestamp: number;
}

/** A pizza-status record; a null value is a tombstone. */
interface StatusRecord {
  key: string;
  value: StatusRow | null;
}

/** Settings for this file: the suite's broker, random topic and group names, the view fed from pizza-status. */
function flinkTestSettings(base: Settings, bootstrapServers: string): Settings {
  const run = randomUUID().slice(0, 8);
  const rename = <T extends object>(names: T): T =>
    Object.fromEntries(Object.entries(names).map(([key, name]) => [key, `${run}-${name}`])) as T;
  return {
    ...base,
    kafka: { 'bootstrap.servers': bootstrapServers },
    topics: rename(base.topics),
    groupIds: rename(base.groupIds),
    topicConfig: { numPartitions: 1, replicationFactor: 1, replicationFactorIsDefault: false },
    shop: { ...base.shop, statusSource: 'pizza-status' },
  };
}

const event = (status: number, timestamp: number): string => JSON.stringify({ status, timestamp });

describe('the pizza-status Flink job on Apache Flink', () => {
  const bootstrapServers = kafkaBootstrap();
  const runner = flinkRunner();
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrapServers], logLevel: KafkaJS.logLevel.NOTHING } });
  const fixture = testSettings();
  const settings = flinkTestSettings(fixture.settings, bootstrapServers);
  const { topics } = settings;
  let flink: FlinkSqlJobs | undefined;

  const flinkFailure = (error: Error): never => {
    throw new Error(`${error.message}\nFlink log (${runner.logFile}):\n${flink?.lines.join('\n')}`);
  };
  const send = async (messages: Array<{ topic: string; key: string; value: string }>): Promise<void> => {
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (const { topic, key, value } of messages) await producer.send({ topic, messages: [{ key, value }] });
    } finally {
      await producer.disconnect();
    }
  };

  beforeAll(async () => {
    await createTopicsKeptByCaller(Object.values(topics), 1);
    // The SQL exactly as `pizza flink:print --dialect apache` prints it for these settings.
    flink = await submitFlinkSql(runner, flinkScript(flinkStatements(settings, 'apache')));
  }, 240_000);

  afterAll(async () => {
    if (flink) await cancelFlinkJobs(runner, flink.jobIds);
    await deleteTopics(Object.values(topics)).catch(() => {});
    fixture.cleanup();
  }, 60_000);

  /** Collects every record of pizza-status, tombstones included, until `stop()`. */
  const watchStatusTopic = async (): Promise<{ rows: StatusRecord[]; stop(): Promise<void> }> => {
    const rows: StatusRecord[] = [];
    const consumer = kafka.consumer({ kafkaJS: { groupId: `check-${randomUUID()}`, fromBeginning: true } });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.status] });
    await consumer.run({
      eachMessage: async ({ message }) => {
        rows.push({
          key: message.key?.toString('utf8') ?? '',
          value: message.value ? (JSON.parse(message.value.toString('utf8')) as StatusRow) : null,
        });
      },
    });
    return { rows, stop: () => consumer.disconnect() };
  };

  it('keeps the furthest status per order, pizza-pending included', async () => {
    expect(flink?.jobIds).toHaveLength(1);

    const { rows, stop } = await watchStatusTopic();

    const t0 = Date.now();
    const [delivered, pending, placed, sentinel] = ['a1', 'b2', 'c3', 'd4'].map(
      (id) => `${id}${randomUUID().slice(0, 6)}`,
    ) as [string, string, string, string];
    await send([
      { topic: topics.ordered, key: delivered, value: event(100, t0) },
      { topic: topics.ordered, key: pending, value: event(100, t0) },
      { topic: topics.ordered, key: placed, value: event(100, t0) },
      { topic: topics.assembled, key: delivered, value: event(200, t0 + 1_000) },
      { topic: topics.baked, key: delivered, value: event(300, t0 + 2_000) },
      { topic: topics.baked, key: pending, value: event(300, t0 + 2_000) },
      { topic: topics.pending, key: pending, value: event(150, t0 + 3_000) },
      { topic: topics.delivered, key: delivered, value: event(999, t0 + 4_000) },
      // Unreadable values are dropped by the job, not fatal to it.
      { topic: topics.baked, key: placed, value: 'not json' },
    ]);
    const rowIndex = (key: string, status: number): number =>
      rows.findIndex((row) => row.key === key && row.value?.status === status);
    await waitFor(
      () => rowIndex(delivered, 999) >= 0 && rowIndex(pending, 150) >= 0,
      'the delivered and pending rows',
      60_000,
    ).catch(flinkFailure);

    // An event of an earlier step read after a further one must not win. Until Flink has
    // read the further one it may show briefly (the sources are read side by side), so
    // it is sent only once the further row is out; then a later event on the same topic
    // and partition, whose row proves the late one has been read.
    const lastSentAt = Date.now();
    await send([
      { topic: topics.assembled, key: delivered, value: event(200, t0 + 1_500) },
      { topic: topics.assembled, key: sentinel, value: event(200, t0 + 5_000) },
    ]);
    await waitFor(() => rows.some((row) => row.key === sentinel), `the row for ${sentinel}`, 60_000).catch(
      flinkFailure,
    );
    const latencyMs = Date.now() - lastSentAt;
    await stop();

    const latest = new Map(rows.map((row) => [row.key, row.value]));
    expect(Object.fromEntries(latest)).toEqual({
      [delivered]: { orderid: delivered, status: 999, timestamp: t0 + 4_000 },
      [pending]: { orderid: pending, status: 150, timestamp: t0 + 3_000 },
      [placed]: { orderid: placed, status: 100, timestamp: t0 },
      [sentinel]: { orderid: sentinel, status: 200, timestamp: t0 + 5_000 },
    });
    const afterDelivered = rows.slice(rowIndex(delivered, 999) + 1).filter((row) => row.key === delivered);
    expect(afterDelivered).toEqual([]);
    console.log(`flink: pizza-status row out ${latencyMs} ms after its event was produced`);
  }, 120_000);

  it('never moves an order backward: a redone stage’s newer duplicate is ignored, a delivered stamped before baked wins', async () => {
    const { rows, stop } = await watchStatusTopic();
    const [order, sentinel] = ['e5', 'f6'].map((id) => `${id}${randomUUID().slice(0, 6)}`) as [string, string];
    const rowsOf = (key: string) => rows.filter((row) => row.key === key);
    const t0 = Date.now();
    await send([
      { topic: topics.ordered, key: order, value: event(100, t0) },
      { topic: topics.assembled, key: order, value: event(200, t0 + 1_000) },
      { topic: topics.baked, key: order, value: event(300, t0 + 2_000) },
    ]);
    await waitFor(() => rowsOf(order).some((row) => row.value?.status === 300), 'the baked row', 60_000).catch(
      flinkFailure,
    );

    // Assembling redone after a crash: the same step again, stamped later than baked.
    // Delivery's clock runs behind: delivered is stamped before baked. The sentinel
    // follows the duplicate on its topic and partition, so its row proves the
    // duplicate has been read.
    await send([
      { topic: topics.assembled, key: order, value: event(200, t0 + 9_000) },
      { topic: topics.delivered, key: order, value: event(999, t0 + 1_500) },
      { topic: topics.assembled, key: sentinel, value: event(200, t0 + 10_000) },
    ]);
    await waitFor(
      () => rowsOf(sentinel).length > 0 && rowsOf(order).some((row) => row.value?.status === 999),
      'the delivered row and the sentinel',
      60_000,
    ).catch(flinkFailure);
    await stop();

    // Every row a step further than the one before: no tombstone, no step back, no repeat.
    const steps = rowsOf(order).map((row) => (row.value ? lifecycleRank(settings.statuses, row.value.status) : 0) ?? 0);
    const forward = steps.every((step, index) => step > (index === 0 ? 0 : (steps[index - 1] ?? 0)));
    expect(forward, `pizza-status rows: ${JSON.stringify(rowsOf(order))}`).toBe(true);
    expect(rowsOf(order).at(-1)?.value).toEqual({ orderid: order, status: 999, timestamp: t0 + 1_500 });
    expect(rowsOf(order).filter((row) => row.value?.timestamp === t0 + 9_000)).toEqual([]);
  }, 120_000);

  it('ends a cancelled order at cancelled, and leaves the refusals on pizza-cancelled out', async () => {
    const { rows, stop } = await watchStatusTopic();
    const [cancelled, refused, afterRefusal, afterBaked] = ['c7', 'd8', 'e9', 'fa'].map(
      (id) => `${id}${randomUUID().slice(0, 6)}`,
    ) as [string, string, string, string];
    const rowsOf = (key: string) => rows.filter((row) => row.key === key);
    const t0 = Date.now();
    await send([
      { topic: topics.ordered, key: cancelled, value: event(100, t0) },
      { topic: topics.assembled, key: cancelled, value: event(200, t0 + 1_000) },
      { topic: topics.cancelled, key: cancelled, value: event(499, t0 + 2_000) },
      // A baked after the cancellation (a bake redone after a crash) must not move it back.
      { topic: topics.baked, key: cancelled, value: event(300, t0 + 3_000) },
      { topic: topics.ordered, key: refused, value: event(100, t0) },
      // A refusal repeats the status delivery knew (baked), here before pizza-baked: it is no step.
      {
        topic: topics.cancelled,
        key: refused,
        value: JSON.stringify({ status: 300, refused: 'too-late', timestamp: t0 + 2_500 }),
      },
      // Behind each of those on its topic and partition: their rows prove the records before were read.
      { topic: topics.cancelled, key: afterRefusal, value: event(499, t0 + 4_000) },
      { topic: topics.baked, key: afterBaked, value: event(300, t0 + 4_000) },
    ]);
    await waitFor(
      () =>
        rowsOf(afterRefusal).length > 0 &&
        rowsOf(afterBaked).length > 0 &&
        rowsOf(refused).length > 0 &&
        rowsOf(cancelled).some((row) => row.value?.status === 499),
      'the cancelled rows and the sentinels',
      60_000,
    ).catch(flinkFailure);
    await stop();

    expect(rowsOf(cancelled).at(-1)?.value).toEqual({ orderid: cancelled, status: 499, timestamp: t0 + 2_000 });
    // Flink reads the topics in any order, so baked may show before the cancellation;
    // once cancelled, though, nothing moves the order again.
    const statuses = rowsOf(cancelled).map((row) => row.value?.status);
    expect(statuses.slice(statuses.indexOf(499))).toEqual(statuses.slice(statuses.indexOf(499)).map(() => 499));
    expect(rowsOf(refused).map((row) => row.value)).toEqual([{ orderid: refused, status: 100, timestamp: t0 }]);
  }, 120_000);

  it('feeds the status role, which moves an order to delivered in the orders view', async () => {
    const logs = capturingLogs();
    const shop = await startShop({ settings, roles: ['status'], logs });
    try {
      // Placed as the web app does: into the view, and onto pizza-ordered for Flink.
      const order = await placeOrder(shop.bus, settings, sampleOrder());
      const t0 = Date.now();
      await send([
        { topic: topics.assembled, key: order.orderId, value: event(200, t0 + 1_000) },
        { topic: topics.baked, key: order.orderId, value: event(300, t0 + 2_000) },
        { topic: topics.delivered, key: order.orderId, value: event(999, t0 + 3_000) },
      ]);
      await waitFor(() => viewStatus(settings, order.orderId) === 999, 'the order delivered in the view', 60_000).catch(
        flinkFailure,
      );

      // The statuses came through pizza-status: in this mode the role reads no stage topic but
      // pizza-ordered (for the order itself) and pizza-cancelled (for refusals, which Flink leaves out).
      const store = openOrders(settings);
      try {
        const seen = store.listEvents(order.orderId);
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.filter((row) => row.topic !== topics.ordered).map((row) => row.topic)).toEqual(
          seen.filter((row) => row.topic !== topics.ordered).map(() => topics.status),
        );
        expect(seen.at(-1)?.status).toBe(999);
      } finally {
        store.close();
      }

      // A cancellation reaches the view through pizza-status (and directly); a refusal only directly.
      const [cancelled, refused] = [sampleOrder(), sampleOrder()];
      for (const placed of [cancelled, refused]) await placeOrder(shop.bus, settings, placed);
      const t1 = Date.now();
      await send([
        { topic: topics.cancelled, key: cancelled.orderId, value: event(499, t1) },
        { topic: topics.baked, key: refused.orderId, value: event(300, t1) },
        {
          topic: topics.cancelled,
          key: refused.orderId,
          value: JSON.stringify({ status: 300, refused: 'too-late', timestamp: t1 + 1 }),
        },
      ]);
      await waitFor(() => viewStatus(settings, cancelled.orderId) === 499, 'cancelled in the view', 60_000).catch(
        flinkFailure,
      );
      const outcome = (placed: { orderId: string }) => {
        const view = openOrders(settings);
        try {
          return cancelOutcomeOf(view.listEvents(placed.orderId), topics.cancelled, settings.statuses);
        } finally {
          view.close();
        }
      };
      await waitFor(() => outcome(refused) === 'refused', 'the refusal in the view', 60_000).catch(flinkFailure);
      expect(outcome(cancelled)).toBe('cancelled');
      await waitFor(() => viewStatus(settings, refused.orderId) === 300, 'the refused order baked', 60_000);
      // The earlier cases wrote bare {status, timestamp} records to pizza-ordered, which the role
      // (reading it for the orders themselves) dead-letters; nothing else may complain.
      const ours = new Set([order.orderId, cancelled.orderId, refused.orderId]);
      expect(
        logs.lines.filter(
          (line) =>
            (line.level === 40 || line.level === 50) &&
            !(line.topic === topics.ordered && !ours.has(String(line.orderId))),
        ),
      ).toEqual([]);
    } finally {
      await shop.stop();
    }
  }, 120_000);
});
