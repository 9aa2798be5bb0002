import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { KafkaConsumer, KafkaProducer } from '../../../src/adapters/kafka/client.js';
import { partitionKey } from '../../../src/adapters/kafka/group/partitions.js';
import { ASSIGN_PARTITIONS, REVOKE_PARTITIONS, RebalanceHandler } from '../../../src/adapters/kafka/group/rebalance.js';
import { TransactionalSender } from '../../../src/adapters/kafka/transactions.js';
import { FakeClock } from '../../support/fake-clock.js';

const log = pino({ level: 'silent' });
/** The rdkafka-style consumer behind the KafkaJS one, which the offsets are sent with. */
const internalConsumer = { name: 'internal consumer', assignmentLost: () => false };
const consumer = { _getInternalClient: () => internalConsumer } as unknown as KafkaConsumer;
const positions = [{ topic: 'in', partition: 0, offset: '5' }];
const message = (value: string) => ({ topic: 'out', key: 'k', value: Buffer.from(value) });

/**
 * A transactional error as the client's KafkaJS API gives it: a librdkafka code,
 * and marks that 1.10 always leaves false (it reads them under other names).
 */
function txnError(message: string, code: number, marks: { fatal?: boolean } = {}) {
  return Object.assign(new Error(message), { code, retriable: false, abortable: false, fatal: false, ...marks });
}

type Step = 'transaction' | 'sendBatch' | 'sendOffsets' | 'commit' | 'abort';

interface SentBatch {
  topicMessages: Array<{ topic: string; messages: Array<{ key: unknown; value: unknown }> }>;
}

/** A transactional producer that records its calls and fails the steps it is told to, in order. */
function fakeProducer(name: string, failures: Partial<Record<Step, unknown[]>> = {}) {
  const calls: string[] = [];
  const batches: SentBatch[] = [];
  const sentOffsets: Array<{ offsets: unknown[]; consumer: unknown }> = [];
  const step = async (what: Step) => {
    calls.push(what);
    const failure = failures[what]?.shift();
    if (failure) throw failure;
  };
  const producer = {
    name,
    calls,
    batches,
    sentOffsets,
    disconnected: false,
    transaction: async () => {
      await step('transaction');
      return producer;
    },
    sendBatch: (batch: SentBatch) => {
      batches.push(batch);
      return step('sendBatch');
    },
    // The offsets go through the rdkafka-style client, which keeps their metadata.
    _getInternalClient: () => ({
      sendOffsetsToTransaction: (
        offsets: unknown[],
        offsetsConsumer: unknown,
        _timeoutMs: number,
        callback: (err: unknown) => void,
      ) => {
        sentOffsets.push({ offsets, consumer: offsetsConsumer });
        step('sendOffsets').then(() => callback(null), callback);
      },
    }),
    commit: () => step('commit'),
    abort: () => step('abort'),
    disconnect: async () => {
      producer.disconnected = true;
    },
  };
  return producer;
}

type FakeProducer = ReturnType<typeof fakeProducer>;

function sender(first: FakeProducer, next: FakeProducer[] = []) {
  const made: FakeProducer[] = [];
  const transactionalSender = new TransactionalSender({
    producer: first as unknown as KafkaProducer,
    renew: async () => {
      const producer = next.shift() ?? fakeProducer(`spare-${made.length}`);
      made.push(producer);
      return producer as unknown as KafkaProducer;
    },
    log,
    stopping: () => false,
  });
  return { transactionalSender, made };
}

describe('exactly-once transactions', () => {
  it('sends the outputs, then the offsets, then commits', async () => {
    const producer = fakeProducer('first');
    const { transactionalSender } = sender(producer);
    await transactionalSender.send(consumer, [message('a')], positions);
    expect(producer.calls).toEqual(['transaction', 'sendBatch', 'sendOffsets', 'commit']);
  });

  it('resumes a commit that timed out instead of aborting it (it goes on in the background)', async () => {
    const producer = fakeProducer('first', {
      commit: [txnError('Timed out waiting for operation to finish, retry call to resume', -185)],
    });
    const { transactionalSender, made } = sender(producer);
    await transactionalSender.send(consumer, [], positions);
    expect(producer.calls).toEqual(['transaction', 'sendOffsets', 'commit', 'commit']);
    expect(made).toEqual([]);
  });

  it('aborts after an abortable error, such as offsets refused by a group that moved on ("Unknown member")', async () => {
    const producer = fakeProducer('first', { sendOffsets: [txnError('Broker: Unknown member', 25)] });
    const { transactionalSender, made } = sender(producer);
    await expect(transactionalSender.send(consumer, [message('a')], positions)).rejects.toThrow('Unknown member');
    expect(producer.calls).toEqual(['transaction', 'sendBatch', 'sendOffsets', 'abort']);
    expect(made).toEqual([]);
    // The same producer takes the next transaction.
    await transactionalSender.send(consumer, [], positions);
    expect(producer.calls.slice(4)).toEqual(['transaction', 'sendOffsets', 'commit']);
  });

  it('replaces the producer when the abort fails too (the broker went away mid-transaction)', async () => {
    const producer = fakeProducer('first', {
      sendOffsets: [txnError('Local: Broker transport failure', -195)],
      abort: [txnError('Conflicting commit_transaction API call is already in progress', -173)],
    });
    const replacement = fakeProducer('second');
    const { transactionalSender, made } = sender(producer, [replacement]);
    await expect(transactionalSender.send(consumer, [], positions)).rejects.toThrow('transport failure');
    expect(producer.disconnected).toBe(true);
    expect(made).toEqual([replacement]);
    await transactionalSender.send(consumer, [], positions);
    expect(replacement.calls).toEqual(['transaction', 'sendOffsets', 'commit']);
  });

  it('replaces a producer in a fatal state without trying to abort (it must be recreated)', async () => {
    const producer = fakeProducer('first', { commit: [txnError('Broker: Producer fenced', 90)] });
    const { transactionalSender, made } = sender(producer);
    await expect(transactionalSender.send(consumer, [], positions)).rejects.toThrow('fenced');
    expect(producer.calls).not.toContain('abort');
    expect(made).toHaveLength(1);
  });

  it('replaces a producer that cannot even begin a transaction ("Can only start one transaction at a time")', async () => {
    const producer = fakeProducer('first', { transaction: [new Error('Can only start one transaction at a time.')] });
    const { transactionalSender, made } = sender(producer);
    await expect(transactionalSender.send(consumer, [], positions)).rejects.toThrow('one transaction at a time');
    expect(made).toHaveLength(1);
    await transactionalSender.send(consumer, [], positions);
    expect(made[0]?.calls).toEqual(['transaction', 'sendOffsets', 'commit']);
  });

  it('keeps trying to make a replacement until one starts, waiting on its clock between attempts', async () => {
    const producer = fakeProducer('first', { transaction: [new Error('fatal')] });
    const clock = new FakeClock();
    let attempts = 0;
    const transactionalSender = new TransactionalSender({
      clock,
      producer: producer as unknown as KafkaProducer,
      renew: async () => {
        attempts += 1;
        if (attempts < 2) throw new Error('Local: Timed out (coordinator not available)');
        return fakeProducer('second') as unknown as KafkaProducer;
      },
      log,
      stopping: () => false,
    });
    const sending = expect(transactionalSender.send(consumer, [], positions)).rejects.toThrow('fatal');
    await clock.whenSleeping();
    expect(attempts).toBe(1);
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([1_000]);
    await clock.advance(1_000);
    await sending;
    expect(attempts).toBe(2);
  });

  it('sends the offsets with their metadata through the rdkafka-style client, with the consumer behind the KafkaJS one', async () => {
    const producer = fakeProducer('first');
    const { transactionalSender } = sender(producer);
    await transactionalSender.send(
      consumer,
      [],
      [
        { topic: 'in', partition: 0, offset: '5', metadata: 'done:7,9' },
        { topic: 'in', partition: 1, offset: '12' },
      ],
    );
    expect(producer.sentOffsets).toEqual([
      {
        consumer: internalConsumer,
        offsets: [
          { topic: 'in', partition: 0, offset: 5, metadata: 'done:7,9' },
          { topic: 'in', partition: 1, offset: 12 },
        ],
      },
    ]);
  });
});

describe('exactly-once: offsets a broker left pending', () => {
  it('settles by aborting a transaction that touches the group and the partitions of the last outputs', async () => {
    const producer = fakeProducer('first', {
      commit: [txnError('Local: Broker transport failure', -195)],
      abort: [txnError('Local: Broker transport failure', -195)],
    });
    const replacement = fakeProducer('second');
    const { transactionalSender } = sender(producer, [replacement]);
    // The commit in doubt: the broker went down while it was under way.
    await expect(
      transactionalSender.send(consumer, [message('a'), message('b'), { ...message('c'), topic: 'other' }], positions),
    ).rejects.toThrow('transport failure');
    await transactionalSender.settle(consumer, positions);
    expect(replacement.calls).toEqual(['transaction', 'sendBatch', 'sendOffsets', 'abort']);
    // One null record per topic and key: the partitions the open transaction wrote to.
    expect(
      replacement.batches[0]?.topicMessages.map(({ topic, messages }) => [topic, messages.map((m) => m.value)]),
    ).toEqual([
      ['out', [null]],
      ['other', [null]],
    ]);
    expect(replacement.calls).not.toContain('commit');
  });

  it('aborts all the same when the group refuses the offsets (the group partition joined the transaction first)', async () => {
    const producer = fakeProducer('first', { sendOffsets: [txnError('Broker: Illegal generation', 22)] });
    const { transactionalSender, made } = sender(producer);
    await transactionalSender.settle(consumer, positions);
    expect(producer.calls).toEqual(['transaction', 'sendOffsets', 'abort']);
    expect(made).toEqual([]);
  });

  it('never runs a settle inside a transaction that is still being sent', async () => {
    let release!: () => void;
    const producer = fakeProducer('first');
    const slowCommit = producer.commit;
    producer.commit = async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return slowCommit();
    };
    const { transactionalSender } = sender(producer);
    const sending = transactionalSender.send(consumer, [], positions);
    const settling = transactionalSender.settle(consumer, positions);
    await new Promise((resolve) => setImmediate(resolve));
    expect(producer.calls).toEqual(['transaction', 'sendOffsets']);
    release();
    await Promise.all([sending, settling]);
    expect(producer.calls).toEqual(['transaction', 'sendOffsets', 'commit', 'transaction', 'sendOffsets', 'abort']);
  });
});

describe('exactly-once: partitions taken back while their transaction is under way', () => {
  const input = { topic: 'in', partition: 0 };

  /** The subscription's rebalance handler, exactly-once, with the partition assigned; `flush` runs on a non-lost revoke. */
  async function assigned(flush: () => Promise<void> = async () => {}) {
    const rebalance = new RebalanceHandler({
      clock: new FakeClock(),
      log,
      exactlyOnce: true,
      stopping: () => false,
      joined: () => {},
      assigned: () => {},
      revoked: () => {},
      flush,
      forget: () => {},
    });
    await rebalance.onRebalance({ code: ASSIGN_PARTITIONS }, [input]);
    return rebalance;
  }
  const lostAndAssignedAgain = async (rebalance: RebalanceHandler) => {
    await rebalance.onRebalance({ code: REVOKE_PARTITIONS }, [input], { assignmentLost: () => true });
    await rebalance.onRebalance({ code: ASSIGN_PARTITIONS }, [input]);
  };

  it('aborts, not commits, a transaction whose partition was lost and assigned again while its outputs were on their way', async () => {
    // The CI duplicate under TCP resets: the new assignment reads the partition again from the
    // last commit, so a commit of this transaction would put its record's outputs out twice.
    const rebalance = await assigned();
    const producer = fakeProducer('first');
    let delivered!: () => void;
    const send = producer.sendBatch;
    producer.sendBatch = (batch) =>
      new Promise<void>((resolve) => {
        delivered = resolve;
      }).then(() => send(batch));
    const { transactionalSender } = sender(producer);
    const sending = transactionalSender.send(
      consumer,
      [message('baked')],
      positions,
      rebalance.fence([partitionKey('in', 0)]),
    );
    await lostAndAssignedAgain(rebalance);
    delivered();
    await expect(sending).resolves.toBe('taken back');
    expect(producer.calls).toEqual(['transaction', 'sendBatch', 'abort']);
    expect(producer.sentOffsets).toEqual([]);
  });

  it('aborts when the rebalance comes while the offsets are sent (the client reads the group metadata during the call)', async () => {
    const rebalance = await assigned();
    const producer = fakeProducer('first');
    const internal = producer._getInternalClient();
    producer._getInternalClient = () => ({
      sendOffsetsToTransaction: (offsets, offsetsConsumer, timeoutMs, callback) => {
        void lostAndAssignedAgain(rebalance).then(() =>
          internal.sendOffsetsToTransaction(offsets, offsetsConsumer, timeoutMs, callback),
        );
      },
    });
    const { transactionalSender } = sender(producer);
    const sending = transactionalSender.send(consumer, [], positions, rebalance.fence([partitionKey('in', 0)]));
    await expect(sending).resolves.toBe('taken back');
    expect(producer.calls).toEqual(['transaction', 'sendOffsets', 'abort']);
  });

  it('sends no offsets once librdkafka says the assignment is lost, before the rebalance callback hears of it', async () => {
    const rebalance = await assigned();
    const producer = fakeProducer('first');
    const lostConsumer = {
      _getInternalClient: () => ({ ...internalConsumer, assignmentLost: () => true }),
    } as unknown as KafkaConsumer;
    const { transactionalSender } = sender(producer);
    const result = await transactionalSender.send(
      lostConsumer,
      [],
      positions,
      rebalance.fence([partitionKey('in', 0)]),
    );
    expect(result).toBe('taken back');
    expect(producer.calls).toEqual(['transaction', 'abort']);
  });

  it('commits what is done of partitions being revoked (not lost), while the revoke waits for it', async () => {
    const producer = fakeProducer('first');
    const { transactionalSender } = sender(producer);
    const results: string[] = [];
    let fence!: () => boolean;
    const rebalance = await assigned(async () => {
      results.push(await transactionalSender.send(consumer, [message('baked')], positions, fence));
    });
    fence = rebalance.fence([partitionKey('in', 0)]);
    await rebalance.onRebalance({ code: REVOKE_PARTITIONS }, [input], { assignmentLost: () => false });
    expect(results).toEqual(['committed']);
    expect(producer.calls).toEqual(['transaction', 'sendBatch', 'sendOffsets', 'commit']);
    // Handed back: a later transaction of that assignment commits nothing.
    expect(fence()).toBe(false);
  });
});
