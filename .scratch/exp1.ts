import pkg from '@confluentinc/kafka-javascript';
import { readFileSync } from 'node:fs';
const { KafkaJS } = pkg;
const bs = readFileSync('/tmp/exp/bootstrap', 'utf8');
const kafka = new KafkaJS.Kafka({ kafkaJS: { logLevel: KafkaJS.logLevel.WARN } });
const admin = kafka.admin({ 'bootstrap.servers': bs });
await admin.connect();
const topic = `t-${Date.now()}`;
await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 1 }] });
console.log(await admin.fetchTopicMetadata({ topics: [topic] }).then(m => JSON.stringify(m, (_k, v) => typeof v === "bigint" ? String(v) : v)));
try { await admin.fetchTopicMetadata({ topics: ['nope-x'] }); } catch (e) { console.log('missing:', (e as any).code, (e as Error).message); }
console.log('list', (await admin.listTopics()).length);
const producer = kafka.producer({ 'bootstrap.servers': bs, partitioner: 'murmur2_random', 'enable.idempotence': true, acks: 'all', 'linger.ms': 5 } as any);
await producer.connect();
const t0 = Date.now();
const res = await Promise.all(Array.from({ length: 1000 }, (_, i) => producer.send({ topic, messages: [{ key: `k${i}`, value: `v${i}` }] })));
console.log('sent 1000 in', Date.now() - t0, JSON.stringify(res[0]));
const consumer = kafka.consumer({ 'bootstrap.servers': bs, 'group.id': `g-${Date.now()}`, 'partition.assignment.strategy': 'range', 'enable.auto.commit': false, 'auto.offset.reset': 'earliest',
  rebalance_cb: (err: any, assignment: any) => { console.log('rebalance', err.code, JSON.stringify(assignment)); } } as any);
await consumer.connect();
await consumer.subscribe({ topics: [topic] });
let n = 0;
const t1 = Date.now();
await new Promise<void>((resolve) => {
  consumer.run({ eachMessage: async ({ topic, partition, message }) => { n++; if (n === 1) console.log(typeof message.offset, message.offset, message.key?.toString(), message.timestamp); if (n === 1000) resolve(); } });
});
console.log('consumed 1000 in', Date.now() - t1);
await consumer.commitOffsets([{ topic, partition: 0, offset: '5' }]);
await consumer.disconnect();
await producer.disconnect();
await admin.deleteTopics({ topics: [topic] });
await admin.disconnect();
