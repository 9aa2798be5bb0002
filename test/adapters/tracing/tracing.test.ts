import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../../src/adapters/bus/embedded.js';
import { startTracing, tracedBus } from '../../../src/adapters/tracing/tracing.js';
import { startShop } from '../../../src/roles/shop.js';
import { testSettings } from '../../support/settings.js';
import { placeOrder, silentLogs, viewStatus, waitFor } from '../../support/shop.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ROLES = ['assemble', 'bake', 'deliver', 'status'] as const;

describe('tracing: one order is one trace (issue 12)', () => {
  it('connects the web publish and every role’s work on the order in one trace, through traceparent headers', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: 'pizza-test', exporter });
    cleanups.push(() => tracing.shutdown());
    const fixture = testSettings({ timeScale: '0' });
    cleanups.push(fixture.cleanup);
    const { settings } = fixture;
    const bus = new EmbeddedBus({ partitions: 2 });
    cleanups.push(() => bus.close());
    const shop = await startShop({ settings, roles: ROLES, logs: silentLogs(), bus, traced: true });
    cleanups.push(() => shop.stop());

    // The web app publishes through the traced bus too.
    const order = await placeOrder(tracedBus(bus), settings);
    await waitFor(() => viewStatus(settings, order.orderId) === 999, 'delivered');
    await waitFor(
      () =>
        exporter.getFinishedSpans().filter((span) => span.name === `status process ${settings.topics.delivered}`)
          .length > 0,
      'the last span',
    );

    const spans = exporter.getFinishedSpans();
    const root = spans.find((span) => span.name === `publish ${settings.topics.ordered}`);
    expect(root).toBeDefined();
    const traceId = root?.spanContext().traceId;
    const ofOrder = spans.filter((span) => span.attributes['pizza.order_id'] === order.orderId);
    // assemble, deliver and status on pizza-ordered; bake and status on assembled;
    // deliver and status on baked; status on delivered.
    expect(ofOrder.map((span) => span.name).sort()).toEqual(
      [
        `assemble process ${settings.topics.ordered}`,
        `deliver process ${settings.topics.ordered}`,
        `status process ${settings.topics.ordered}`,
        `bake process ${settings.topics.assembled}`,
        `status process ${settings.topics.assembled}`,
        `deliver process ${settings.topics.baked}`,
        `status process ${settings.topics.baked}`,
        `status process ${settings.topics.delivered}`,
      ].sort(),
    );
    const spanIds = new Set(spans.map((span) => span.spanContext().spanId));
    for (const span of ofOrder) {
      expect(span.spanContext().traceId, span.name).toBe(traceId);
      // Each piece of work hangs off the publish that made its record.
      expect(spanIds.has(span.parentSpanContext?.spanId ?? ''), span.name).toBe(true);
    }
  });

  it('adds no header and no span when tracing is off', async () => {
    const fixture = testSettings({ timeScale: '0' });
    cleanups.push(fixture.cleanup);
    const bus = new EmbeddedBus({ partitions: 1 });
    cleanups.push(() => bus.close());
    const shop = await startShop({ settings: fixture.settings, roles: ROLES, logs: silentLogs(), bus });
    cleanups.push(() => shop.stop());
    const order = await placeOrder(bus, fixture.settings);
    await waitFor(() => viewStatus(fixture.settings, order.orderId) === 999, 'delivered');
    for (const record of bus.records(fixture.settings.topics.assembled)) expect(record.headers).toEqual({});
  });
});
