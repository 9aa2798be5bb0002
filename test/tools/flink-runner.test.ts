import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FlinkSqlRun, startFlinkSql } from '../../tools/flink/flink.js';
import { type KafkaBroker, startKafkaBroker } from '../../tools/kafka/broker.js';

interface OutputRecord {
  key: string;
  value: string | null;
}

const delay = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

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
  let broker: KafkaBroker | undefined;
  let flink: FlinkSqlRun | undefined;
  let workDir = '';

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'pizza-flink-test-'));
    broker = await startKafkaBroker();
  }, 180_000);

  afterAll(async () => {
    await flink?.stop();
    await broker?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }, 60_000);

  it('runs a kafka -> upsert-kafka job and writes keyed upserts', async () => {
    if (!broker) throw new Error('no broker');
    const suffix = randomUUID().slice(0, 8);
    const topics = { input: `in-${suffix}`, rawKeyed: `out-${suffix}`, jsonKeyed: `out-json-${suffix}` };
    const kafka = new KafkaJS.Kafka({
      kafkaJS: { brokers: [broker.bootstrapServers], logLevel: KafkaJS.logLevel.NOTHING },
    });

    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
    });
    await admin.disconnect();

    const sqlFile = join(workDir, 'orders.sql');
    await writeFile(sqlFile, ordersSql(broker.bootstrapServers, topics));
    const flinkLog: string[] = [];
    const startedAt = Date.now();
    flink = await startFlinkSql({ sqlFile, log: (line) => flinkLog.push(line) });
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

    const deadline = Date.now() + 60_000;
    while (!complete() && Date.now() < deadline) await delay(100);
    const endToEndMs = Date.now() - producedAt;
    await consumer.disconnect();

    for (const [topic, values] of Object.entries(expectedByTopic)) {
      expect(latestValues(topic), `${topic} (Flink log: ${flink.logFile})\n${flinkLog.join('\n')}`).toEqual(values);
      // One upsert per input row: the aggregate's UPDATE_BEFORE rows are not written.
      expect(counts.get(topic)).toBe(4);
    }
    console.log(`flink: jobs running ${jobStartMs} ms after start; output complete ${endToEndMs} ms after produce`);

    await flink.stop();
    await flink.stop(); // idempotent
    expect(await flink.exited).not.toBe(0);
  }, 300_000);

  it('rejects with the runner output when a statement fails', async () => {
    const sqlFile = join(workDir, 'broken.sql');
    await writeFile(
      sqlFile,
      "CREATE TABLE t (a INT) WITH ('connector' = 'no-such-connector');\nINSERT INTO t VALUES (1);\n",
    );
    await expect(startFlinkSql({ sqlFile })).rejects.toThrow(/no-such-connector/);
  }, 120_000);
});
