import { randomUUID } from 'node:crypto';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { cancelFlinkJobs, flinkJobOutcome, submitFlinkSql } from '../../tools/flink/client.js';
import { startFlinkSqlRunner } from '../../tools/flink/flink.js';
import { flinkRunner } from '../support/flink.js';
import { createTopics, kafkaBootstrap } from '../support/kafka.js';

interface OutputRecord {
  key: string;
  value: string | null;
}

function ordersSql(bootstrap: string, topics: { input: string; rawKeyed: string; jsonKeyed: string }): string {
  const kafka = `'properties.bootstrap.servers' = '${bootstrap}'`;
  return `
-- Source: the message key (raw UTF-8) is the order id; the JSON value holds the rest.
CREATE TABLE orders (
  order_id STRING,
  status STRING,
  qty INT
) WITH (
  'connector' = 'kafka',
  'topic' = '${topics.input}',
  ${kafka},
  'properties.group.id' = 'flink-${topics.input}',
  'scan.startup.mode' = 'earliest-offset', /* the default, group-offsets, fails on a new group */
  'key.format' = 'raw',
  'key.fields' = 'order_id',
  'value.format' = 'json',
  'value.fields-include' = 'EXCEPT_KEY'
);

CREATE TABLE order_status (
  order_id STRING,
  status STRING,
  updates BIGINT,
  total_qty INT,
  PRIMARY KEY (order_id) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = '${topics.rawKeyed}',
  ${kafka},
  'key.format' = 'raw',
  'value.format' = 'json'
);

CREATE TABLE order_status_json_key WITH ('topic' = '${topics.jsonKeyed}', 'key.format' = 'json')
LIKE order_status (OVERWRITING OPTIONS);

CREATE TEMPORARY VIEW latest AS
SELECT order_id, LAST_VALUE(status) AS status, COUNT(*) AS updates, SUM(qty) AS total_qty
FROM orders
GROUP BY order_id;

EXECUTE STATEMENT SET BEGIN
  INSERT INTO order_status SELECT * FROM latest;
  INSERT INTO order_status_json_key SELECT * FROM latest;
END;
`;
}

describe('Flink SQL runner', () => {
  const runner = flinkRunner();
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [kafkaBootstrap()], logLevel: KafkaJS.logLevel.NOTHING } });

  it('runs a kafka -> upsert-kafka job and writes keyed upserts, until the job is cancelled', async () => {
    const suffix = randomUUID().slice(0, 8);
    const topics = { input: `in-${suffix}`, rawKeyed: `out-${suffix}`, jsonKeyed: `out-json-${suffix}` };
    await createTopics(Object.values(topics), 1);

    const startedAt = Date.now();
    const flink = await submitFlinkSql(runner, ordersSql(kafkaBootstrap(), topics));
    onTestFinished(() => cancelFlinkJobs(runner, flink.jobIds));
    const jobStartMs = Date.now() - startedAt;
    expect(flink.jobIds).toHaveLength(1);

    const received = new Map<string, Map<string, OutputRecord>>(
      [topics.rawKeyed, topics.jsonKeyed].map((topic) => [topic, new Map()]),
    );
    const counts = new Map<string, number>();
    const consumer = kafka.consumer({ kafkaJS: { groupId: `check-${suffix}`, fromBeginning: true } });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.rawKeyed, topics.jsonKeyed] });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const key = message.key?.toString('utf8') ?? '';
        received.get(topic)?.set(key, { key, value: message.value?.toString('utf8') ?? null });
        counts.set(topic, (counts.get(topic) ?? 0) + 1);
      },
    });

    const producer = kafka.producer();
    await producer.connect();
    const producedAt = Date.now();
    await producer.send({
      topic: topics.input,
      messages: [
        { key: 'o1', value: JSON.stringify({ status: 'placed', qty: 1 }) },
        { key: 'o2', value: JSON.stringify({ status: 'placed', qty: 2 }) },
        { key: 'o1', value: JSON.stringify({ status: 'baking', qty: 1 }) },
        { key: 'o1', value: JSON.stringify({ status: 'delivered', qty: 1 }) },
      ],
    });
    await producer.disconnect();

    const expected = {
      o1: { order_id: 'o1', status: 'delivered', updates: 3, total_qty: 3 },
      o2: { order_id: 'o2', status: 'placed', updates: 1, total_qty: 2 },
    };
    const latestValues = (topic: string): Record<string, unknown> =>
      Object.fromEntries(
        [...(received.get(topic)?.values() ?? [])].map((record) => [
          record.key,
          record.value === null ? null : JSON.parse(record.value),
        ]),
      );
    // Keys as the sinks write them: 'raw' is the bare UTF-8 value, 'json' a JSON object.
    const expectedByTopic = {
      [topics.rawKeyed]: { o1: expected.o1, o2: expected.o2 },
      [topics.jsonKeyed]: { '{"order_id":"o1"}': expected.o1, '{"order_id":"o2"}': expected.o2 },
    };
    const complete = (): boolean =>
      Object.entries(expectedByTopic).every(
        ([topic, values]) => JSON.stringify(latestValues(topic)) === JSON.stringify(values),
      );

    await vi.waitFor(() => expect(complete()).toBe(true), { timeout: 60_000, interval: 100 }).catch(() => {});
    const endToEndMs = Date.now() - producedAt;
    await consumer.disconnect();

    for (const [topic, values] of Object.entries(expectedByTopic)) {
      expect(latestValues(topic), `${topic} (Flink log: ${runner.logFile})\n${flink.lines.join('\n')}`).toEqual(values);
      // One upsert per input row: the aggregate's UPDATE_BEFORE rows are not written.
      expect(counts.get(topic)).toBe(4);
    }
    console.log(`flink: jobs running ${jobStartMs} ms after submit; output complete ${endToEndMs} ms after produce`);

    // A streaming job runs until cancelled; cancelling it twice is fine.
    const [jobId] = flink.jobIds as [string];
    await cancelFlinkJobs(runner, [jobId]);
    await cancelFlinkJobs(runner, [jobId]);
    expect(await flinkJobOutcome(runner, jobId)).toMatchObject({ state: 'CANCELED' });
  }, 300_000);

  it('reports a bounded job finished', async () => {
    const script = [
      "CREATE TABLE sink (a INT) WITH ('connector' = 'blackhole');",
      'INSERT INTO sink VALUES (1), (2);',
    ].join('\n');
    const { jobIds } = await submitFlinkSql(runner, script);
    expect(jobIds).toHaveLength(1);
    expect(await flinkJobOutcome(runner, jobIds[0] as string)).toEqual({ state: 'FINISHED' });
  }, 120_000);

  it('rejects with the runner output when a statement fails, and keeps serving', async () => {
    const broken = "CREATE TABLE t (a INT) WITH ('connector' = 'no-such-connector');\nINSERT INTO t VALUES (1);\n";
    await expect(submitFlinkSql(runner, broken)).rejects.toThrow(
      /no-such-connector[\s\S]*statement 2\/2: INSERT INTO t/,
    );
    const { jobIds } = await submitFlinkSql(
      runner,
      "CREATE TABLE ok (a INT) WITH ('connector' = 'blackhole');\nINSERT INTO ok VALUES (1);",
    );
    expect(await flinkJobOutcome(runner, jobIds[0] as string)).toEqual({ state: 'FINISHED' });
  }, 120_000);

  it('starts a runner of its own that refuses requests without its token, and stops it', async () => {
    const own = await startFlinkSqlRunner();
    try {
      const anonymous = await fetch(`${own.url}/scripts`, { method: 'POST', body: 'SELECT 1;' });
      expect(anonymous.status).toBe(401);
      await expect(submitFlinkSql({ url: own.url, token: 'wrong' }, 'SELECT 1;')).rejects.toThrow(/token/);
    } finally {
      const stopped = own.stop();
      expect(own.stop()).toBe(stopped); // idempotent
      await stopped;
    }
    expect(await own.exited).not.toBe(0);
    await expect(fetch(`${own.url}/scripts`, { method: 'POST' })).rejects.toThrow();
  }, 120_000);
});
