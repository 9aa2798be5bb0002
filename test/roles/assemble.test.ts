import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../src/domain/events.js';
import { type AssembleDeps, assemblePizza } from '../../src/roles/assemble.js';
import { CancelRegistry } from '../../src/roles/cancels.js';
import { busRecord } from '../support/fake-bus.js';
import { FAKE_EPOCH } from '../support/fake-clock.js';
import { handlerDeps } from '../support/handler-deps.js';

const ORDER_ID = '5e6f7a8b';

function assemble(timeScale: string) {
  const base = handlerDeps(timeScale);
  const controller = new AbortController();
  const cancels = new CancelRegistry({ role: 'assemble', windowMs: 3_600_000, now: () => base.clock.now() });
  const deps: AssembleDeps = { ...base, signal: controller.signal, cancels };
  return { ...base, deps, cancels, controller };
}

interface Recipe {
  sauce: string;
  cheese: string;
  extras: string[];
  main: string;
}

/** `pizza-ordered` as the workshop's web app writes it. */
function ordered(recipe: Recipe, order: Record<string, unknown> = {}, key: string | null = ORDER_ID) {
  return busRecord('pizza-ordered', key, {
    status: 100,
    timestamp: FAKE_EPOCH,
    order: {
      extra_toppings: recipe.extras,
      sauce: recipe.sauce,
      cheese: recipe.cheese,
      main_topping: recipe.main,
      customer_id: '8f14e45fceea167a5a36dedd4bea2543',
      username: 'workshop',
      ...order,
    },
  });
}

const CLASSIC: Recipe = { sauce: 'Tomato', cheese: 'Mozzarella', extras: ['Mushroom', 'Onion'], main: 'Pepperoni' };

describe('assemblePizza, called directly', () => {
  // Seconds from the workshop's formula, worked out in Python apart from our code
  // (hashlib.md5 of "sauce@cheese@extras@main", last 4 hex digits, % 8 + 4 and + 8):
  // see test/domain/timings.test.ts for the whole table.
  it.each([
    [CLASSIC, 8, 12],
    [{ sauce: 'Marinara', cheese: 'Cheddar', extras: ['Ham'], main: 'Sausage' }, 11, 15],
    [{ sauce: 'Tomato', cheese: 'Mozzarella', extras: [], main: 'Pepperoni' }, 4, 8],
  ])(
    'assembles %o for its recipe time × time_scale, then sends pizza-assembled with its baking_time',
    async (recipe, assemblingSeconds, bakingSeconds) => {
      const { deps, clock, bus } = assemble('0.25');
      const assembling = assemblePizza(ordered(recipe), deps);
      await clock.whenSleeping();
      const ms = assemblingSeconds * 250;
      expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([ms]);

      await clock.advance(ms - 1);
      expect(bus.published).toEqual([]);
      await clock.advance(1);
      await assembling;
      expect(bus.sent()).toEqual([
        {
          topic: 'pizza-assembled',
          key: ORDER_ID,
          json: { status: 200, baking_time: bakingSeconds, timestamp: FAKE_EPOCH + ms },
        },
      ]);
      expect(Object.keys(bus.sent()[0]?.json as object)).toEqual(['status', 'baking_time', 'timestamp']);
    },
  );

  it('stops assembling an order cancelled mid-assembly: {status: 499} on pizza-cancelled, nothing assembled', async () => {
    const { deps, clock, bus, cancels } = assemble('1');
    const assembling = assemblePizza(ordered(CLASSIC), deps);
    await clock.whenSleeping();
    await clock.advance(2_000);
    await cancels.learn(ORDER_ID, clock.now());
    // Out at once: its sleep is gone without the clock moving.
    expect(clock.sleeping).toEqual([]);
    await assembling;
    expect(bus.sent()).toEqual([
      { topic: 'pizza-cancelled', key: ORDER_ID, json: { status: 499, timestamp: FAKE_EPOCH + 2_000 } },
    ]);
  });

  it('never assembles an order whose cancel came first', async () => {
    const { deps, clock, bus, cancels } = assemble('1');
    await cancels.learn(ORDER_ID, clock.now());
    await assemblePizza(ordered(CLASSIC), deps);
    expect(clock.sleeping).toEqual([]);
    expect(bus.sent()).toEqual([
      { topic: 'pizza-cancelled', key: ORDER_ID, json: { status: 499, timestamp: FAKE_EPOCH } },
    ]);
  });

  it('gives up at once, publishing nothing, when its record is taken back mid-assembly', async () => {
    const { deps, clock, bus, controller } = assemble('1');
    const assembling = assemblePizza(ordered(CLASSIC), deps);
    await clock.whenSleeping();
    const stopping = new Error('role stopping');
    controller.abort(stopping);
    // Given up at once: its sleep is gone without the clock moving.
    expect(clock.sleeping).toEqual([]);
    await expect(assembling).rejects.toBe(stopping);
    expect(bus.published).toEqual([]);
  });

  it.each([
    ['no key', ordered(CLASSIC, {}, null)],
    ['an upper-case key', ordered(CLASSIC, {}, '5E6F7A8B')],
    ['a customer id that is not 32 hex digits', ordered(CLASSIC, { customer_id: 'c0ffee' })],
    ['no sauce', ordered(CLASSIC, { sauce: undefined })],
    ['extra toppings that are not a list', ordered(CLASSIC, { extra_toppings: 'Mushroom' })],
    ['a value that is not JSON', busRecord('pizza-ordered', ORDER_ID, Buffer.from('pizza please'))],
  ])('refuses an order with %s as a bad event, without assembling or publishing', async (_what, record) => {
    const { deps, clock, bus } = assemble('1');
    await expect(clock.withoutSleeping(() => assemblePizza(record, deps))).rejects.toBeInstanceOf(InvalidEventError);
    expect(bus.published).toEqual([]);
  });
});
