/**
 * A bare process for `idle-memory.ts` to measure, away from the shop. Plain
 * JavaScript on purpose: run through tsx, it would carry tsx's own ~20 MB.
 *   node scripts/bench/idle-clients.mjs node            (Node alone)
 *   node scripts/bench/idle-clients.mjs libs            (+ the shop's native and web libraries, loaded and used once)
 *   node scripts/bench/idle-clients.mjs clients <bootstrap> <consumers> <producers> <topic> [k=v;k=v]
 * Prints one JSON line once it has settled, then waits to be killed (the
 * parent reads /proc meanwhile).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [mode = 'node', bootstrap = '', consumerCount = '0', producerCount = '0', topic = 'pizza-ordered', extra = ''] =
  process.argv.slice(2);

async function libraries() {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(mkdtempSync(join(tmpdir(), 'pizza-idle-')), 'idle.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (a)');
  const { default: fastify } = await import('fastify');
  const app = fastify();
  const { default: handlebars } = await import('handlebars');
  app.get('/', async () => handlebars.compile('<p>{{a}}</p>')({ a: 1 }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  await import('pino');
  await import('prom-client');
}

async function kafkaClients() {
  const { KafkaJS } = (await import('@confluentinc/kafka-javascript')).default;
  const properties = Object.fromEntries(
    extra
      .split(';')
      .filter((pair) => pair.includes('='))
      .map((pair) => pair.split('=', 2)),
  );
  const kafka = new KafkaJS.Kafka({ kafkaJS: { logLevel: KafkaJS.logLevel.ERROR } });
  let count = 0;
  for (let i = 0; i < Number(consumerCount); i += 1) {
    const consumer = kafka.consumer({
      'bootstrap.servers': bootstrap,
      'group.id': `idle-${process.pid}-${i}`,
      'queued.max.messages.kbytes': 1024,
      ...properties,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    void consumer.run({ eachBatch: async () => {} });
    count += 1;
  }
  for (let i = 0; i < Number(producerCount); i += 1) {
    const producer = kafka.producer({ 'bootstrap.servers': bootstrap, 'linger.ms': 1, ...properties });
    await producer.connect();
    count += 1;
  }
  return count;
}

if (mode === 'libs') await libraries();
const clients = mode === 'clients' ? await kafkaClients() : 0;
await sleep(mode === 'clients' ? 8_000 : 2_000);
console.log(JSON.stringify({ ready: true, clients }));
await sleep(600_000);
