/**
 * An exactly-once bake instance that dies mid-transaction, for
 * `test/faults/exactly-once-stranded-offsets.test.ts`. It joins the bake
 * group as one more member (the shop's range assignor), bakes what it is
 * given at once, and commits each batch in a transaction with its offsets,
 * as bake does; after `committedFirst` transactions it sends one more
 * batch's outputs and offsets and never commits, printing a `stranded` line:
 * the test then kills it with -9. Its transaction stays open under its own
 * producer id until the coordinator aborts it (`transaction.timeout.ms`
 * later, at the coordinator's next check), and with it the group's pending
 * offsets of its partitions, which the surviving bake waits on.
 *   node test/support/faults-stranded-member.mjs <bootstrap> <group> <assembled> <baked> <transactional id> <committed first>
 * Plain JavaScript: the trial spawns it with node, like bin/pizza.
 */
const [bootstrap, groupId, input, output, transactionalId, committedFirst = '2'] = process.argv.slice(2);
/** statuses.ts: pizza_baked. */
const PIZZA_BAKED = 300;

const { KafkaJS } = (await import('@confluentinc/kafka-javascript')).default;
const kafka = new KafkaJS.Kafka({ kafkaJS: { logLevel: KafkaJS.logLevel.ERROR } });
const consumer = kafka.consumer({
  'bootstrap.servers': bootstrap,
  'group.id': groupId,
  'partition.assignment.strategy': 'range',
  'enable.auto.commit': false,
  'auto.offset.reset': 'earliest',
  'isolation.level': 'read_committed',
  'session.timeout.ms': 6_000,
  'heartbeat.interval.ms': 1_500,
});
const producer = kafka.producer({
  'bootstrap.servers': bootstrap,
  'transactional.id': transactionalId,
  // As the shop's roles (kafka-bus.ts): the coordinator aborts it this long after it began.
  'transaction.timeout.ms': 10_000,
  'socket.timeout.ms': 10_000,
});
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topics: [input] });

let committed = 0;
const say = (line) => console.log(JSON.stringify({ at: Date.now(), ...line }));
await consumer.run({
  eachBatch: async ({ batch }) => {
    const { topic, partition, messages } = batch;
    const last = messages.at(-1);
    if (!last) return;
    const transaction = await producer.transaction();
    await transaction.send({
      topic: output,
      messages: messages.map((message) => ({
        key: message.key,
        value: JSON.stringify({ status: PIZZA_BAKED, timestamp: Date.now() }),
      })),
    });
    const offset = String(Number(last.offset) + 1);
    await transaction.sendOffsets({ consumer, topics: [{ topic, partitions: [{ partition, offset }] }] });
    const keys = messages.map((message) => message.key?.toString('utf8'));
    if (committed >= Number(committedFirst)) {
      say({ stranded: { partition, offset, keys } });
      // Never committed, never aborted: the test kills the process now.
      await new Promise(() => {});
    }
    await transaction.commit();
    committed += 1;
    say({ committed: { partition, offset, keys } });
  },
});
say({ started: true });
