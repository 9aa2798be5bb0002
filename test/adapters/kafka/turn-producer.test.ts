import { describe, expect, it } from 'vitest';
import type { Delivery } from '../../../src/adapters/bus/bus.js';
import {
  type NativeProducer,
  type OutgoingMessage,
  produceEach,
  type RecordMetadata,
  TurnProducer,
} from '../../../src/adapters/kafka/turn-producer.js';

interface SentCall {
  topic: string;
  keys: string[];
  settle: Array<{ resolve(delivery: Delivery): void; reject(error: unknown): void }>;
}

/** A SendTopic that records each call and lets the test settle each message. */
function fakeSend() {
  const calls: SentCall[] = [];
  const send = (topic: string, messages: readonly OutgoingMessage[]) => {
    const call: SentCall = { topic, keys: messages.map((m) => String(m.key)), settle: [] };
    calls.push(call);
    return messages.map(
      () =>
        new Promise<Delivery>((resolve, reject) => {
          call.settle.push({ resolve, reject });
        }),
    );
  };
  return { calls, send };
}

/** A scheduler the test runs by hand: the end of "the turn" is when the test says. */
function manualTurns() {
  const pending: Array<() => void> = [];
  return {
    schedule: (flush: () => void) => {
      pending.push(flush);
    },
    endTurn: () => {
      for (const flush of pending.splice(0)) flush();
    },
  };
}

const message = (key: string): OutgoingMessage => ({ key, value: Buffer.from(key) });

describe('TurnProducer', () => {
  it('sends the publishes of one turn as one call, and nothing before the turn ends', async () => {
    const { calls, send } = fakeSend();
    const turns = manualTurns();
    const producer = new TurnProducer({ send, schedule: turns.schedule });
    const results = ['a', 'b', 'c'].map((key) => producer.publish('orders', message(key)));
    expect(calls).toHaveLength(0);
    turns.endTurn();
    expect(calls.map((call) => [call.topic, call.keys])).toEqual([['orders', ['a', 'b', 'c']]]);
    calls[0]?.settle.forEach((each, index) => {
      each.resolve({ topic: 'orders', partition: index, offset: `${10 + index}` });
    });
    await expect(Promise.all(results)).resolves.toEqual([
      { topic: 'orders', partition: 0, offset: '10' },
      { topic: 'orders', partition: 1, offset: '11' },
      { topic: 'orders', partition: 2, offset: '12' },
    ]);
  });

  it('drops a message whose partition was taken back before the turn sent it (issue 20: a paused process still publishes)', async () => {
    const { calls, send } = fakeSend();
    const turns = manualTurns();
    const producer = new TurnProducer({ send, schedule: turns.schedule });
    const revokedEpoch = new AbortController();
    const keptEpoch = new AbortController();
    const dropped = producer.publish('baked', message('zombie'), revokedEpoch.signal);
    const sent = producer.publish('baked', message('owned'), keptEpoch.signal);
    revokedEpoch.abort(new Error('t[0] was revoked'));
    turns.endTurn();
    expect(calls.map((call) => call.keys)).toEqual([['owned']]);
    await expect(dropped).rejects.toThrow('t[0] was revoked');
    calls[0]?.settle[0]?.resolve({ topic: 'baked', partition: 1, offset: '7' });
    await expect(sent).resolves.toEqual({ topic: 'baked', partition: 1, offset: '7' });
    // Revoked already: not even queued.
    await expect(producer.publish('baked', message('late'), revokedEpoch.signal)).rejects.toThrow('was revoked');
    turns.endTurn();
    expect(calls).toHaveLength(1);
  });

  it('coalesces the publishes a turn makes after awaits, on the default setImmediate turn', async () => {
    const { calls, send } = fakeSend();
    const producer = new TurnProducer({ send });
    // Handlers reach their publish after a few awaits each, all within one turn.
    const handler = async (key: string, awaits: number) => {
      for (let i = 0; i < awaits; i += 1) await Promise.resolve();
      return producer.publish('out', message(key));
    };
    void handler('x', 0);
    void handler('y', 3);
    void handler('z', 7);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls.map((call) => call.keys)).toEqual([['x', 'y', 'z']]);
  });

  it('sends one call per topic, each with its own messages in publish order', () => {
    const { calls, send } = fakeSend();
    const turns = manualTurns();
    const producer = new TurnProducer({ send, schedule: turns.schedule });
    void producer.publish('baked', message('1'));
    void producer.publish('logs', message('2'));
    void producer.publish('baked', message('3'));
    turns.endTurn();
    expect(calls.map((call) => [call.topic, call.keys])).toEqual([
      ['baked', ['1', '3']],
      ['logs', ['2']],
    ]);
    expect(producer.sends).toBe(2);
  });

  it("resolves each caller with its own record's delivery, whatever order the reports come in", async () => {
    const { calls, send } = fakeSend();
    const turns = manualTurns();
    const producer = new TurnProducer({ send, schedule: turns.schedule });
    const first = producer.publish('t', message('first'));
    const second = producer.publish('t', message('second'));
    turns.endTurn();
    const [one, two] = calls[0]?.settle ?? [];
    two?.resolve({ topic: 't', partition: 3, offset: '41' });
    await expect(second).resolves.toEqual({ topic: 't', partition: 3, offset: '41' });
    one?.resolve({ topic: 't', partition: 1, offset: '7' });
    await expect(first).resolves.toEqual({ topic: 't', partition: 1, offset: '7' });
  });

  it('rejects exactly the callers whose send failed', async () => {
    const turns = manualTurns();
    const failure = new Error('topic authorization failed');
    const producer = new TurnProducer({
      schedule: turns.schedule,
      send: (topic, messages) => {
        if (topic === 'forbidden') throw failure;
        return messages.map(() => Promise.resolve({ topic, partition: 0, offset: '0' }));
      },
    });
    const ok = producer.publish('allowed', message('a'));
    const bad = [producer.publish('forbidden', message('b')), producer.publish('forbidden', message('c'))];
    turns.endTurn();
    await expect(ok).resolves.toEqual({ topic: 'allowed', partition: 0, offset: '0' });
    for (const each of bad) await expect(each).rejects.toBe(failure);
  });

  it('rejects only the caller whose own message failed within a send', async () => {
    const { calls, send } = fakeSend();
    const turns = manualTurns();
    const producer = new TurnProducer({ send, schedule: turns.schedule });
    const results = ['a', 'b', 'c'].map((key) => producer.publish('t', message(key)));
    turns.endTurn();
    const failure = new Error('message too large');
    calls[0]?.settle[0]?.resolve({ topic: 't', partition: 0, offset: '1' });
    calls[0]?.settle[1]?.reject(failure);
    calls[0]?.settle[2]?.resolve({ topic: 't', partition: 0, offset: '2' });
    const settled = await Promise.allSettled(results);
    expect(settled.map((each) => each.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(settled[1]).toMatchObject({ reason: failure });
  });

  it('splits a turn with more messages than the bound, sending each full part at once', () => {
    const { calls, send } = fakeSend();
    const turns = manualTurns();
    const producer = new TurnProducer({ send, schedule: turns.schedule, maxMessages: 4 });
    for (let i = 0; i < 10; i += 1) void producer.publish(i % 2 === 0 ? 'even' : 'odd', message(`${i}`));
    // Two parts of four went out while publishing; the last two wait for the end of the turn.
    expect(calls.map((call) => call.keys)).toEqual([
      ['0', '2'],
      ['1', '3'],
      ['4', '6'],
      ['5', '7'],
    ]);
    turns.endTurn();
    expect(calls.slice(4).map((call) => call.keys)).toEqual([['8'], ['9']]);
  });

  it('flush() sends what is queued at once, and a later turn end sends nothing twice', () => {
    const { calls, send } = fakeSend();
    const turns = manualTurns();
    const producer = new TurnProducer({ send, schedule: turns.schedule });
    void producer.publish('t', message('a'));
    producer.flush();
    turns.endTurn();
    expect(calls.map((call) => call.keys)).toEqual([['a']]);
  });
});

describe('produceEach', () => {
  it('produces each message as KafkaJS send does and settles each from its own report', async () => {
    const produced: Array<{ topic: string; partition: number; key: unknown; headers: unknown; opaque: unknown }> = [];
    const opaques: Array<{ resolve(metadata: RecordMetadata): void; reject(error: unknown): void }> = [];
    const client: NativeProducer = {
      produce(topic, partition, _value, key, _timestamp, opaque, headers) {
        if (key === 'full') throw new Error('Local: Queue full');
        produced.push({ topic, partition, key, headers, opaque });
        opaques.push(opaque);
      },
    };
    const results = produceEach(client)('t', [
      { key: 'a', value: Buffer.from('1'), headers: { trace: 'x', kind: Buffer.from('y') } },
      { key: 'full', value: null },
      { key: 'b', value: null },
    ]);
    expect(produced.map(({ topic, partition, key, headers }) => ({ topic, partition, key, headers }))).toEqual([
      { topic: 't', partition: -1, key: 'a', headers: [{ trace: 'x' }, { kind: Buffer.from('y') }] },
      { topic: 't', partition: -1, key: 'b', headers: null },
    ]);
    opaques[1]?.resolve({ topicName: 't', partition: 2, baseOffset: 99 });
    opaques[0]?.reject(new Error('broker down'));
    const settled = await Promise.allSettled(results);
    expect(settled[0]).toMatchObject({ status: 'rejected', reason: { message: 'broker down' } });
    expect(settled[1]).toMatchObject({ status: 'rejected', reason: { message: 'Local: Queue full' } });
    expect(settled[2]).toEqual({ status: 'fulfilled', value: { topic: 't', partition: 2, offset: '99' } });
  });
});
