import { describe, expect, it } from 'vitest';
import type { PartitionRange } from '../../src/adapters/bus/bus.js';
import { InvalidEventError } from '../../src/domain/events.js';
import { type BakeDeps, bakePizza } from '../../src/roles/bake.js';
import { CancelRegistry } from '../../src/roles/cancels.js';
import { busRecord } from '../support/fake-bus.js';
import { FAKE_EPOCH } from '../support/fake-clock.js';
import { handlerDeps } from '../support/handler-deps.js';

const ORDER_ID = '0a1b2c3d';

/** bakePizza's collaborators: a recording bus, a fake clock, time at `timeScale`, a running (unaborted) record. */
function bake(timeScale = '0.5') {
  const base = handlerDeps(timeScale);
  const controller = new AbortController();
  const cancels = new CancelRegistry({ role: 'bake', windowMs: 3_600_000, now: () => base.clock.now() });
  const deps: BakeDeps = { ...base, signal: controller.signal, cancels };
  return { ...base, deps, cancels, controller };
}

/** `pizza-assembled` as the workshop's assemble service writes it. */
const assembled = (bakingTime: number, key: string | null = ORDER_ID) =>
  busRecord('pizza-assembled', key, { status: 200, baking_time: bakingTime, timestamp: FAKE_EPOCH });

describe('bakePizza, called directly', () => {
  it("bakes for the event's baking_time × time_scale, then publishes {status: 300, timestamp} on pizza-baked, keyed by the order id", async () => {
    const { deps, clock, bus } = bake('0.5');
    const baking = bakePizza(assembled(12), deps);
    await clock.whenSleeping();
    // 12 simulated seconds at half speed.
    expect(clock.sleeping.map((sleep) => sleep.ms)).toEqual([6_000]);

    await clock.advance(5_999);
    expect(bus.published).toEqual([]);
    await clock.advance(1);
    await baking;
    expect(bus.sent()).toEqual([
      { topic: 'pizza-baked', key: ORDER_ID, json: { status: 300, timestamp: FAKE_EPOCH + 6_000 } },
    ]);
    // The wire bytes, field for field: nothing but status and timestamp.
    expect(bus.published[0]?.value?.toString('utf8')).toBe(`{"status":300,"timestamp":${FAKE_EPOCH + 6_000}}`);
  });

  it('bakes at once at time_scale 0', async () => {
    const { deps, clock, bus } = bake('0');
    await clock.withoutSleeping(() => bakePizza(assembled(15), deps));
    expect(bus.sent()).toEqual([{ topic: 'pizza-baked', key: ORDER_ID, json: { status: 300, timestamp: FAKE_EPOCH } }]);
  });

  it('takes a pizza cancelled mid-bake out of the oven at once: {status: 499} on pizza-cancelled, nothing baked', async () => {
    const { deps, clock, bus, cancels } = bake('1');
    const baking = bakePizza(assembled(15), deps);
    await clock.whenSleeping();
    await clock.advance(3_000);

    await cancels.learn(ORDER_ID, clock.now());
    // Out at once: its sleep is gone without the clock moving.
    expect(clock.sleeping).toEqual([]);
    await baking;
    expect(bus.sent()).toEqual([
      { topic: 'pizza-cancelled', key: ORDER_ID, json: { status: 499, timestamp: FAKE_EPOCH + 3_000 } },
    ]);
  });

  it('never puts in the oven a pizza cancelled before its turn, and announces the cancel once however often it comes', async () => {
    const { deps, clock, bus, cancels } = bake('1');
    await cancels.learn(ORDER_ID, clock.now());
    await bakePizza(assembled(10), deps);
    // Read again (a redelivery): no second announcement.
    await bakePizza(assembled(10), deps);
    expect(clock.sleeping).toEqual([]);
    expect(bus.sent()).toEqual([
      { topic: 'pizza-cancelled', key: ORDER_ID, json: { status: 499, timestamp: FAKE_EPOCH } },
    ]);
  });

  it('gives up at once, publishing nothing, when its record is taken back mid-bake', async () => {
    const { deps, clock, bus, controller } = bake('1');
    const baking = bakePizza(assembled(10), deps);
    await clock.whenSleeping();
    const revoked = new Error('partition revoked');
    controller.abort(revoked);
    // Given up at once: its sleep is gone without the clock moving.
    expect(clock.sleeping).toEqual([]);
    await expect(baking).rejects.toBe(revoked);
    expect(bus.published).toEqual([]);
  });

  it.each([
    ['no key', assembled(10, null)],
    ['a key that is no order id', assembled(10, 'NOT-AN-ORDER')],
    ['a value that is not JSON', busRecord('pizza-assembled', ORDER_ID, Buffer.from('{"status": 200,'))],
    ['a tombstone', busRecord('pizza-assembled', ORDER_ID, null)],
    ['no baking_time', busRecord('pizza-assembled', ORDER_ID, { status: 200, timestamp: FAKE_EPOCH })],
    ['a baking_time longer than any recipe', assembled(3_600)],
    ['a baking_time shorter than any recipe', assembled(7)],
  ])('refuses an event with %s as a bad event, without baking or publishing', async (_what, record) => {
    const { deps, clock, bus } = bake('1');
    await expect(clock.withoutSleeping(() => bakePizza(record, deps))).rejects.toBeInstanceOf(InvalidEventError);
    expect(bus.published).toEqual([]);
  });

  describe('a redo after a crash between publishing pizza-baked and committing (at-least-once, issue 20)', () => {
    /** The bus as the redo finds it: `pizza-baked` holds what an earlier run published. */
    function redo(bakedKeys: string[]) {
      const context = bake('1');
      const asked: PartitionRange[] = [];
      context.bus.readRanges = async (ranges) => {
        asked.push(...ranges);
        return bakedKeys.map((key, index) =>
          busRecord(
            'pizza-baked',
            key,
            { status: 300, timestamp: FAKE_EPOCH - 1_000 },
            { partition: 2, offset: String(index) },
          ),
        );
      };
      return { ...context, asked };
    }
    const assembledAgain = () =>
      busRecord(
        'pizza-assembled',
        ORDER_ID,
        { status: 200, baking_time: 12, timestamp: FAKE_EPOCH - 20_000 },
        { partition: 2, offset: '41', timestamp: FAKE_EPOCH - 20_000 },
      );

    it('announces no cancel for a pizza already baked: the order stays baked and goes on to delivery', async () => {
      const { deps, clock, bus, cancels, asked } = redo([ORDER_ID]);
      await cancels.learn(ORDER_ID, clock.now());
      await clock.withoutSleeping(() => bakePizza(assembledAgain(), deps));
      expect(bus.sent()).toEqual([]);
      // Its own partition of pizza-baked, from a little before the assembled record was written.
      expect(asked).toEqual([{ topic: 'pizza-baked', partition: 2, fromTimestamp: FAKE_EPOCH - 20_000 - 15 * 60_000 }]);
    });

    it('still cancels a pizza never baked, whatever else pizza-baked holds', async () => {
      const { deps, clock, bus, cancels } = redo(['ffff0000', '0a1b2c3e']);
      await cancels.learn(ORDER_ID, clock.now());
      await clock.withoutSleeping(() => bakePizza(assembledAgain(), deps));
      expect(bus.sent()).toEqual([
        { topic: 'pizza-cancelled', key: ORDER_ID, json: { status: 499, timestamp: FAKE_EPOCH } },
      ]);
    });

    it('announces no cancel when it comes mid-bake of a pizza an earlier run baked', async () => {
      const { deps, clock, bus, cancels } = redo([ORDER_ID]);
      const baking = bakePizza(assembledAgain(), deps);
      await clock.whenSleeping();
      await cancels.learn(ORDER_ID, clock.now());
      await baking;
      expect(bus.sent()).toEqual([]);
    });
  });
});
