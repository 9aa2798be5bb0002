import { describe, expect, it } from 'vitest';
import { decodeCompleted } from '../../../src/adapters/kafka/completed-offsets.js';
import { HeldOutputs } from '../../../src/adapters/kafka/held-outputs.js';

const P0 = 'in\u00000';
const P1 = 'in\u00001';
const message = (value: string) => ({ topic: 'out', key: 'k', value: Buffer.from(value) });
const at = (partition: number, offset: string) => ({ topic: 'in', partition, offset });
const values = (content: { messages: Array<{ value: Buffer | null }> }) =>
  content.messages.map((m) => m.value?.toString());

describe('exactly-once held outputs', () => {
  it('lets a record done behind a slow one go out at once, named in the metadata past the prefix', () => {
    const outputs = new HeldOutputs();
    outputs.dispatched(P0, '5');
    // 5 is in the oven; 6 and 7 are done.
    expect(outputs.keep(P0, '7', [message('seven')])).toEqual(at(0, '5'));
    expect(outputs.keep(P0, '6', [message('six')])).toEqual(at(0, '5'));
    const first = outputs.take([at(0, '5')]);
    expect(values(first)).toEqual(['six', 'seven']);
    expect(first.positions).toHaveLength(1);
    expect(first.positions[0]?.offset).toBe('5');
    expect(decodeCompleted(5n, first.positions[0]?.metadata)).toEqual([6n, 7n]);
    // 5 is done: the prefix passes 6 and 7 too; only 5's outputs are left to send, with nothing named.
    outputs.keep(P0, '5', [message('five')]);
    outputs.release(P0, '8');
    const second = outputs.take([at(0, '8')]);
    expect(values(second)).toEqual(['five']);
    expect(second.positions).toEqual([{ ...at(0, '8'), metadata: '' }]);
  });

  it('names earlier named records again in every later transaction, until the prefix passes them', () => {
    const outputs = new HeldOutputs();
    outputs.dispatched(P0, '0');
    outputs.keep(P0, '2', [message('two')]);
    outputs.take([at(0, '0')]);
    outputs.keep(P0, '0', [message('zero')]);
    outputs.release(P0, '1');
    outputs.keep(P0, '4', [message('four')]);
    const next = outputs.take([at(0, '1')]);
    expect(values(next)).toEqual(['zero', 'four']);
    expect(decodeCompleted(1n, next.positions[0]?.metadata)).toEqual([2n, 4n]);
  });

  it('skips the records a committed offset names as done, and names them again in its first transaction', () => {
    const outputs = new HeldOutputs();
    outputs.restore(P0, { ...at(0, '10'), done: ['12', '13'] });
    expect(outputs.isDone(P0, '12')).toBe(true);
    expect(outputs.isDone(P0, '11')).toBe(false);
    outputs.dispatched(P0, '10');
    outputs.keep(P0, '11', [message('eleven')]);
    const content = outputs.take([at(0, '10')]);
    expect(values(content)).toEqual(['eleven']);
    expect(decodeCompleted(10n, content.positions[0]?.metadata)).toEqual([11n, 12n, 13n]);
    // A later assignment with no commit forgets them.
    outputs.restore(P0, undefined);
    expect(outputs.isDone(P0, '12')).toBe(false);
  });

  it('falls back to waiting when the metadata has no room: those outputs go once the prefix reaches them', () => {
    const outputs = new HeldOutputs(8);
    outputs.dispatched(P0, '0');
    for (let offset = 1; offset <= 200; offset += 2) outputs.keep(P0, String(offset), [message(String(offset))]);
    const first = outputs.take([at(0, '0')]);
    expect(first.positions[0]?.metadata?.length).toBeLessThanOrEqual(8);
    const named = decodeCompleted(0n, first.positions[0]?.metadata);
    expect(values(first)).toEqual(named.map(String));
    expect(named.length).toBeLessThan(100);
    expect(outputs.waiting).toBe(100 - named.length);
    // The prefix moves past everything: the rest go, in offset order, with nothing left to name.
    outputs.release(P0, '201');
    const rest = outputs.take([at(0, '201')]);
    expect(values(rest)).toEqual(
      Array.from({ length: 100 }, (_, index) => String(index * 2 + 1)).filter((v) => !named.map(String).includes(v)),
    );
    expect(rest.positions[0]?.metadata).toBe('');
    expect(outputs.waiting).toBe(0);
  });

  it('keeps partitions apart, forgets one that moved, and everything after a failed transaction', () => {
    const outputs = new HeldOutputs();
    outputs.dispatched(P0, '1');
    outputs.dispatched(P1, '1');
    outputs.keep(P0, '1', [message('a')]);
    outputs.keep(P1, '1', [message('b')]);
    outputs.forget(P0);
    outputs.release(P1, '2');
    expect(values(outputs.take([at(0, '2')]))).toEqual([]);
    outputs.clear();
    expect(values(outputs.take([at(1, '2')]))).toEqual([]);
  });

  it('waits for the first record of a partition before naming anything past it', () => {
    const outputs = new HeldOutputs();
    // No commit and nothing dispatched yet: no prefix to name past.
    expect(outputs.keep(P0, '3', [message('three')])).toBeUndefined();
    outputs.release(P0, '4');
    expect(values(outputs.take([at(0, '4')]))).toEqual(['three']);
  });
});
