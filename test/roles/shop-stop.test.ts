import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/adapters/bus/embedded.js';
import { startShop } from '../../src/roles/shop.js';
import { stopEach } from '../../src/roles/stop-each.js';
import { testSettings } from '../support/settings.js';
import { silentLogs } from '../support/shop.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('stopping every part of a shop', () => {
  it('stops every part in order even when some fail, and reports each failure in an AggregateError', async () => {
    const stopped: string[] = [];
    const step = (what: string, failure?: Error) =>
      [
        what,
        async () => {
          stopped.push(what);
          if (failure) throw failure;
        },
      ] as const;
    const serve = new Error('serve did not stop');
    const bus = new Error('bus did not close');
    const failure = await stopEach([step('serve', serve), step('bake'), step('bus', bus)]).catch((error) => error);
    expect(stopped).toEqual(['serve', 'bake', 'bus']);
    expect(failure).toBeInstanceOf(AggregateError);
    expect((failure as AggregateError).errors).toEqual([serve, bus]);
    expect((failure as AggregateError).message).toBe('2 parts of the shop did not stop cleanly: serve, bus');
  });

  it('throws the one failure itself when only one part fails, and nothing when none does', async () => {
    const only = new Error('bake did not stop');
    await expect(
      stopEach([
        ['serve', async () => {}],
        ['bake', () => Promise.reject(only)],
        ['nothing to stop', () => undefined],
      ]),
    ).rejects.toBe(only);
    await expect(stopEach([['serve', async () => {}]])).resolves.toBeUndefined();
  });

  it('reports every role that failed to stop, not only the first, and still stops the others', async () => {
    const fixture = testSettings({ timeScale: '0.001' });
    cleanups.push(fixture.cleanup);
    const bus = new EmbeddedBus({ partitions: 2 });
    cleanups.push(() => bus.close());
    const shop = await startShop({ settings: fixture.settings, roles: ['bake', 'assemble'], logs: silentLogs(), bus });
    const [bake, assemble] = shop.roles;
    if (!bake || !assemble) throw new Error('expected two roles');
    // Each role really stops, then says it did not.
    for (const role of [bake, assemble]) {
      const realStop = role.stop.bind(role);
      role.stop = async () => {
        await realStop();
        throw new Error(`${role.name} did not stop cleanly`);
      };
    }
    const failure = await shop.stop().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AggregateError);
    // Back to front: assemble was started last, so it stops first.
    expect((failure as AggregateError).errors.map((error: Error) => error.message)).toEqual([
      'assemble did not stop cleanly',
      'bake did not stop cleanly',
    ]);
    expect((failure as AggregateError).message).toMatch(/role assemble, role bake$/);
  });
});
