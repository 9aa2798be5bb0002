import pkg from '@confluentinc/kafka-javascript';
const { KafkaJS } = pkg;
const bs = process.argv[2] ?? '127.0.0.1:1';
const extra = JSON.parse(process.argv[3] ?? '{}');
const kafka = new KafkaJS.Kafka({ kafkaJS: { logLevel: KafkaJS.logLevel.NOTHING } });
const t0 = Date.now();
const admin = kafka.admin({ 'bootstrap.servers': bs, ...extra });
try { await admin.connect(); console.log('admin connect ok', Date.now() - t0); } catch (e: any) { console.log('admin connect err', Date.now() - t0, e.code, e.message); }
try { const t = await admin.listTopics({ timeout: 10000 } as any); console.log('list ok', t, Date.now() - t0); } catch (e: any) { console.log('list err', Date.now() - t0, e.code, e.type, e.message); }
const t1 = Date.now();
const producer = kafka.producer({ 'bootstrap.servers': bs, ...extra });
try { await producer.connect(); console.log('producer connect ok', Date.now() - t1); } catch (e: any) { console.log('producer connect err', Date.now() - t1, e.code, e.message); }
await admin.disconnect().catch(() => {});
await producer.disconnect().catch(() => {});
