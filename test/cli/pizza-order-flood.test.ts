import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startPizza } from '../support/cli.js';
import { ShopHttpClient } from '../support/http-client.js';
import { DELIVERED_LABEL, floodOrders, timedDelivery } from '../support/order-flood.js';

const dir = mkdtempSync(join(tmpdir(), 'pizza-flood-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FLOOD = 2_000;
const PIZZA = { sauce: 'Tomato', cheese: 'Mozzarella', mainTopping: 'Pepperoni', extraToppings: ['Mushroom'] };

// Issue 21's pass mark, on `pizza all` with the default admission settings. Without admission
// (order_admission = false, time scale 0.05) all 2,000 were taken and the second customer's
// order took 143 s instead of 1.7 s.
it('one client flooding 2,000 orders is refused past its limits, and the next customer is served as on a quiet shop', async () => {
  const pizza = startPizza([
    'all',
    '--port',
    '0',
    '--time-scale',
    '0.05',
    '--data-dir',
    join(dir, 'data'),
    '--log-dir',
    join(dir, 'logs'),
  ]);
  try {
    const [, url = ''] = await pizza.waitForLine(/pizza shop open at (http:\/\/[^\s"]+)/);
    // Another person, from another address than the flood's (all of 127/8 is this machine).
    const second = new ShopHttpClient(url, { localAddress: '127.0.0.2' });
    await second.login('second');
    const quiet = await timedDelivery(second, PIZZA, 30_000);
    expect(quiet.page).toContain(DELIVERED_LABEL);

    const flood = await floodOrders(url, FLOOD, PIZZA);
    const flooded = await timedDelivery(second, PIZZA, 60_000);
    const bound = 3 * quiet.seconds + 5;
    console.info(
      `flood: ${flood.placed} of ${flood.tried} accepted in ${flood.seconds.toFixed(1)} s ` +
        `(answers ${JSON.stringify(flood.byStatus)}); the second customer's order: ` +
        `${quiet.seconds.toFixed(2)} s quiet, ${flooded.seconds.toFixed(2)} s after the flood (bound ${bound.toFixed(2)} s)`,
    );

    expect(flood.placed).toBeGreaterThan(0);
    expect(flood.placed).toBeLessThan(FLOOD);
    // One session, within a minute: no more than orders_per_session_per_minute (10 by default) get through.
    expect(flood.placed).toBeLessThanOrEqual(10);
    const refusal = flood.refusals.find((answer) => answer.status === 429);
    expect(refusal?.body).toContain('Too many orders');
    expect(Number(refusal?.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(flooded.page).toContain(DELIVERED_LABEL);
    expect(flooded.seconds).toBeLessThanOrEqual(bound);
  } finally {
    const code = await pizza.stop();
    expect(code).toBe(0);
  }
});
