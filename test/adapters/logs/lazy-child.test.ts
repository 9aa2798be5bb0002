import pino, { type Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { lazyChild } from '../../../src/adapters/logs/lazy-child.js';

function capture(level: string): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level, base: null, timestamp: false },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { log, lines };
}

describe('lazyChild', () => {
  it('writes the same lines as the child it stands for, its own children included', () => {
    const eager = capture('info');
    const lazy = capture('info');
    const write = (log: Logger) => {
      log.info({ bakingSeconds: 3 }, 'baking the pizza');
      log.child({ status: 4 }).warn('status: baked');
      log.debug('not written');
    };
    write(eager.log.child({ role: 'bake' }).child({ orderId: '0000aaaa' }));
    write(lazyChild(lazy.log.child({ role: 'bake' }), { orderId: '0000aaaa' }));
    expect(eager.lines).toEqual([
      { level: 30, role: 'bake', orderId: '0000aaaa', bakingSeconds: 3, msg: 'baking the pizza' },
      { level: 40, role: 'bake', orderId: '0000aaaa', status: 4, msg: 'status: baked' },
    ]);
    expect(lazy.lines).toEqual(eager.lines);
  });

  it('makes no pino child while nothing is written at its level, and one when something is', () => {
    const { log, lines } = capture('info');
    const child = vi.spyOn(log, 'child');
    const orderLog = lazyChild(log, { orderId: '0000bbbb' });
    orderLog.debug('older or duplicate status ignored');
    orderLog.child({ status: 2 }).debug('status: ordered');
    expect(child).not.toHaveBeenCalled();
    orderLog.info('pizza baked, ready for delivery');
    orderLog.info('again');
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines).toEqual([
      { level: 30, orderId: '0000bbbb', msg: 'pizza baked, ready for delivery' },
      { level: 30, orderId: '0000bbbb', msg: 'again' },
    ]);
  });
});
