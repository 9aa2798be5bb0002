import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { lineAsIs } from '../../../src/adapters/logs/line-as-is.js';
import {
  decodeOrderLogRecord,
  encodeOrderLogLine,
  encodeOrderLogLines,
  orderLogRecord,
} from '../../../src/adapters/logs/order-log-line.js';

/** Lines as a role logger writes them: pino, `role` in the base, a child per order. */
function pinoLines(log: (logger: pino.Logger) => void, role = 'bake'): string[] {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino(
    { level: 'trace', base: { role }, timestamp: pino.stdTimeFunctions.epochTime },
    pino.multistream([{ level: 'trace', stream }]),
  );
  log(logger);
  return lines;
}

/** What the sink published the long way: parsed, trimmed, written again. */
function longWay(line: string): string[] {
  const record = orderLogRecord(JSON.parse(line) as Record<string, unknown>);
  return record ? [encodeOrderLogLine(record)] : [];
}

/** What the web host stores from a batch of these lines. */
const decoded = (lines: string[]) => decodeOrderLogRecord('host.1', encodeOrderLogLines(lines));

const ORDER = '0000abcd';

const cases: Record<string, (logger: pino.Logger) => void> = {
  'a plain line': (l) => l.child({ orderId: ORDER }).info('pizza baked, ready for delivery'),
  'a line with fields': (l) =>
    l.child({ orderId: ORDER }).info({ assemblingSeconds: 4, sauce: 'tomato', ok: true, none: null }, 'assembling'),
  'a warning': (l) => l.child({ orderId: ORDER }).warn({ factor: 1.25 }, 'slow oven'),
  'braces, commas and colons in strings': (l) =>
    l.child({ orderId: ORDER }).info({ note: '{c}, [d]: é ü' }, '{x}, y: z'),
  'quotes and escapes in strings': (l) =>
    l.child({ orderId: ORDER }).info({ note: 'a "b", c:\n\u2028é\\' }, 'odd "text", x:"y"'),
  'a surrogate pair': (l) => l.child({ orderId: ORDER }).info({ note: 'pizza 🍕' }, 'served'),
  'numbers of every form': (l) =>
    l.child({ orderId: ORDER }).info({ a: -1.5e-7, b: 0, c: 123456789012, d: -0, e: 1e300 }, 'numbers'),
  'a long string field': (l) => l.child({ orderId: ORDER }).info({ note: 'x'.repeat(250) }, 'long'),
  'a long message': (l) => l.child({ orderId: ORDER }).info('y'.repeat(600)),
  'an error': (l) => l.child({ orderId: ORDER }).error({ err: new Error('oven on fire') }, 'baking failed'),
  'a nested field': (l) => l.child({ orderId: ORDER }).info({ a: { b: { c: { d: 1 } } }, list: [1, 2] }, 'nested'),
  'seventeen fields': (l) =>
    l.child({ orderId: ORDER }).info(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`f${i}`, i])), 'many'),
  'sixteen fields': (l) =>
    l.child({ orderId: ORDER }).info(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`f${i}`, i])), 'sixteen'),
  'a component line': (l) => l.child({ orderId: ORDER, component: 'order-logs' }).info('about the topic'),
  'a status view line': (l) => l.child({ orderId: ORDER, component: 'status-view' }).info('in the oven'),
  'another component': (l) => l.child({ orderId: ORDER, component: 'sessions' }).info('signed in'),
  'a debug line': (l) => l.child({ orderId: ORDER }).debug('a detail'),
  'no order': (l) => l.info('ready'),
  'a bad order id': (l) => l.child({ orderId: 'NOT-AN-ID' }).info('odd'),
  'an order id given twice': (l) => l.child({ orderId: ORDER }).info({ orderId: 'ffff0000' }, 'moved'),
  'a level field': (l) => l.child({ orderId: ORDER }).info({ level: 'high' }, 'odd level'),
  'a time field': (l) => l.child({ orderId: ORDER }).info({ time: 'noon' }, 'odd time'),
  'a msg field': (l) => l.child({ orderId: ORDER }).info({ msg: 'first' }, 'second'),
  'no message': (l) => l.child({ orderId: ORDER }).info({ a: 1 }),
  'left-out fields': (l) => l.child({ orderId: ORDER }).info({ pid: 1, hostname: 'h', stack: 's' }, 'left out'),
  'a __proto__ field': (l) => l.child({ orderId: ORDER }).info(JSON.parse('{"__proto__": 5}'), 'proto'),
};

describe('publishing a pino line as it is', () => {
  for (const [name, log] of Object.entries(cases)) {
    it(`gives the web host what the long way gives: ${name}`, () => {
      for (const line of pinoLines(log)) {
        const asIs = lineAsIs(line);
        if (asIs === undefined) continue;
        expect(decoded([asIs])).toEqual(decoded(longWay(line)));
        // The same fields in the same order: the store keeps them as JSON text.
        expect(JSON.stringify(decoded([asIs]))).toBe(JSON.stringify(decoded(longWay(line))));
      }
    });
  }

  it('gives the same with a long role name', () => {
    const [line] = pinoLines((l) => l.child({ orderId: ORDER }).info('hi'), 'r'.repeat(40));
    const asIs = lineAsIs(line ?? '');
    if (asIs !== undefined) expect(decoded([asIs])).toEqual(decoded(longWay(line ?? '')));
  });

  it("takes the roles' ordinary lines as they are, and leaves the ones to trim to the long way", () => {
    const take = (name: string) => pinoLines(cases[name] as (logger: pino.Logger) => void).map(lineAsIs);
    for (const name of [
      'a plain line',
      'a line with fields',
      'a warning',
      'braces, commas and colons in strings',
      'numbers of every form',
    ]) {
      expect(take(name)[0], name).toBeDefined();
    }
    for (const name of [
      'quotes and escapes in strings',
      'a surrogate pair',
      'a long string field',
      'a long message',
      'an error',
      'a nested field',
      'seventeen fields',
      'a component line',
      'a status view line',
      'a debug line',
      'no order',
      'a bad order id',
      'an order id given twice',
      'left-out fields',
      'a __proto__ field',
    ]) {
      expect(take(name)[0], name).toBeUndefined();
    }
  });

  it('never takes text that is not one flat JSON object', () => {
    const good = '{"level":30,"time":1,"role":"bake","orderId":"0000abcd","msg":"m"}';
    expect(lineAsIs(`${good}\n`)).toBe(good);
    for (const bad of [
      '{"level":30,"time":1,"role":"bake","orderId":"0000abcd","msg":"m",}',
      '{"level":30,"time":1,"role":"bake","orderId":"0000abcd","msg":"m","a":}',
      '{"level":30,"time":1,"role":"bake","orderId":"0000abcd","msg":"m","a":nope}',
      '{"level":30,"time":1,"role":"bake","orderId":"0000abcd","msg":"m","a":1e999}',
      '{"level":30,"time":1,"role":"bake","orderId":"0000abcd","msg":"m","a":"b}',
      '{"level":30,"time":1,"role":"bake","orderId":"0000abcd","msg":"m" ,"a":1}',
      '{"level":30,"time":1,"role":"bake","orderId":"0000abcd","msg":"tab\there"}',
      '{"level":30,"time":1,"role":"bake","orderId":"0000abcd","msg":"m"}}',
      '{"level":30,"time":true,"role":"bake","orderId":"0000abcd","msg":"m"}',
      '{"level":30,"time":1,"role":"bake","orderId":"0000abcd"}',
      '{}',
      'not json',
      '',
    ]) {
      expect(lineAsIs(bad), bad).toBeUndefined();
    }
  });
});
