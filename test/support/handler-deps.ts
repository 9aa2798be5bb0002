import pino from 'pino';
import { onTestFinished } from 'vitest';
import { ShopMetrics } from '../../src/adapters/metrics/shop-metrics.js';
import type { RoleDeps } from '../../src/roles/role.js';
import { ShopStores } from '../../src/roles/shop-stores.js';
import { FakeBus } from './fake-bus.js';
import { FakeClock } from './fake-clock.js';
import { testSettings } from './settings.js';

/**
 * What a role's handler is called with in a unit test: a bus that records,
 * a clock that moves when told, a silent logger, and test settings at
 * `timeScale`. Call inside a test; its data dir goes when the test ends.
 */
export function handlerDeps(timeScale: string): RoleDeps & { bus: FakeBus; clock: FakeClock } {
  const fixture = testSettings({ timeScale });
  onTestFinished(fixture.cleanup);
  const stores = new ShopStores(fixture.settings);
  onTestFinished(() => stores.close());
  return {
    bus: new FakeBus(),
    clock: new FakeClock(),
    settings: fixture.settings,
    log: pino({ level: 'silent' }),
    metrics: new ShopMetrics(),
    stores,
  };
}
