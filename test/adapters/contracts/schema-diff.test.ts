import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { fullCompatibilityProblems } from '../../../src/adapters/contracts/schema-diff.js';

type Schema = { type: 'record'; name: string; namespace?: string; fields: Record<string, unknown>[] };

const contractsDir = join(import.meta.dirname, '..', '..', '..', 'contracts');
const ordered = (): Schema => JSON.parse(readFileSync(join(contractsDir, 'pizza-ordered.avsc'), 'utf8')) as Schema;
const record = (fields: Record<string, unknown>[], name = 'Probe'): Schema => ({ type: 'record', name, fields });

function problems(previous: Schema, next: Schema) {
  const type = (schema: Schema) => avro.Type.forSchema(schema as Parameters<typeof avro.Type.forSchema>[0]);
  return fullCompatibilityProblems(type(previous), type(next));
}

/** The order record inside pizza-ordered, to change one of its fields. */
function orderRecord(schema: Schema): Schema {
  const order = schema.fields.find((field) => field.name === 'order');
  if (!order) throw new Error('pizza-ordered has no order field');
  return order.type as Schema;
}
function orderFields(schema: Schema): Record<string, unknown>[] {
  return orderRecord(schema).fields;
}

describe('the fields that break FULL compatibility between two versions of a contract', () => {
  it('finds none between a contract and itself', () => {
    expect(problems(ordered(), ordered())).toEqual([]);
  });

  it('finds none for an optional field added with a null default (the evolution FULL allows)', () => {
    const next = ordered();
    next.fields.push({ name: 'note', type: ['null', 'string'], default: null });
    expect(problems(ordered(), next)).toEqual([]);
  });

  it('finds none when a field that had a default is removed', () => {
    const previous = record([
      { name: 'id', type: 'string' },
      { name: 'note', type: ['null', 'string'], default: null },
    ]);
    expect(problems(previous, record([{ name: 'id', type: 'string' }]))).toEqual([]);
  });

  it('names a field removed without a default: older readers need it', () => {
    const next = ordered();
    next.fields = next.fields.filter((field) => field.name !== 'status');
    expect(problems(ordered(), next)).toEqual([
      {
        field: 'status',
        change: expect.stringMatching(/^removed \(or renamed\), and it had no default: older readers/),
      },
    ]);
  });

  it('names a field added without a default: new readers cannot read older events', () => {
    const next = ordered();
    next.fields.push({ name: 'table', type: 'int' });
    expect(problems(ordered(), next)).toEqual([
      { field: 'table', change: expect.stringMatching(/^added without a default: new readers/) },
    ]);
  });

  it('names a nested field by its path when its type changes', () => {
    const next = ordered();
    const sauce = orderFields(next).find((field) => field.name === 'sauce');
    if (sauce) sauce.type = 'int';
    expect(problems(ordered(), next)).toEqual([
      {
        field: 'order.sauce',
        change: "type changed from string to int: neither old nor new readers can read the other's events",
      },
    ]);
  });

  it('names a nested field removed from the order record', () => {
    const next = ordered();
    orderRecord(next).fields = orderFields(next).filter((field) => field.name !== 'username');
    expect(problems(ordered(), next).map((problem) => problem.field)).toEqual(['order.username']);
  });

  it('refuses a promotion, which only goes one way (int to long: old readers cannot read a long)', () => {
    const next = ordered();
    const status = next.fields.find((field) => field.name === 'status');
    if (status) status.type = 'long';
    expect(problems(ordered(), next)).toEqual([
      { field: 'status', change: 'type changed from int to long: older readers cannot read new events' },
    ]);
  });

  it('refuses making a required field optional (old readers cannot read its null)', () => {
    const previous = record([{ name: 'id', type: 'string' }]);
    const next = record([{ name: 'id', type: ['null', 'string'], default: null }]);
    expect(problems(previous, next)).toEqual([
      { field: 'id', change: 'type changed from string to [null, string]: older readers cannot read new events' },
    ]);
  });

  it('names array items by the array field and []', () => {
    const next = ordered();
    const toppings = orderFields(next).find((field) => field.name === 'extra_toppings');
    if (toppings) toppings.type = { type: 'array', items: 'int' };
    expect(problems(ordered(), next).map((problem) => problem.field)).toEqual(['order.extra_toppings[]']);
  });

  it('looks inside a union whose branches stay the same', () => {
    const inner = (fields: Record<string, unknown>[]) => ['null', record(fields, 'Inner')];
    const previous = record([{ name: 'inner', type: inner([{ name: 'a', type: 'string' }]), default: null }]);
    const next = record([{ name: 'inner', type: inner([{ name: 'a', type: 'boolean' }]), default: null }]);
    expect(problems(previous, next).map((problem) => problem.field)).toEqual(['inner.a']);
  });

  it('names a renamed record, which no reader resolves', () => {
    const next = ordered();
    next.name = 'PizzaPlaced';
    expect(problems(ordered(), next)).toEqual([
      { field: '(the record)', change: 'record renamed from pizza.events.PizzaOrdered to pizza.events.PizzaPlaced' },
    ]);
  });

  it('refuses a field renamed with an alias: new readers follow it, older ones cannot', () => {
    const previous = record([{ name: 'id', type: 'string' }]);
    const next = record([{ name: 'order_id', aliases: ['id'], type: 'string' }]);
    expect(problems(previous, next)).toEqual([
      { field: 'id', change: expect.stringMatching(/^removed \(or renamed\), and it had no default: older readers/) },
    ]);
  });

  it('compares a renamed field with a default through its alias, both ways', () => {
    const previous = record([{ name: 'id', type: 'string', default: '' }]);
    const next = record([{ name: 'order_id', aliases: ['id'], type: 'int', default: 0 }]);
    expect(problems(previous, next).map((problem) => problem.field)).toEqual(['order_id']);
  });
});
