import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BusRecord, DispatchObserver, FailureKind } from '../bus/bus.js';

/**
 * Every Prometheus metric of one process, in a registry of its own (so tests
 * that run two shops in one process don't collide). Served on the operator
 * port, never on the customers' one.
 */
export class ShopMetrics {
  readonly registry = new Registry();
  readonly events = new Counter({
    name: 'pizza_events_total',
    help: 'Records a role worked on, by outcome: handled, failed (an attempt that threw), dead_lettered',
    labelNames: ['role', 'topic', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: 'pizza_event_failures_total',
    help: 'Failed attempts by kind: bad-event, permanent, transient (retried), unavailable (waiting for Kafka)',
    labelNames: ['role', 'topic', 'kind'] as const,
    registers: [this.registry],
  });
  readonly handlerSeconds = new Histogram({
    name: 'pizza_handler_duration_seconds',
    help: "Time from taking a record on to its work being done (the stage's simulated time included)",
    labelNames: ['role', 'topic'] as const,
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 20, 40],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'pizza_in_flight',
    help: 'Records a role is working on now',
    labelNames: ['role'] as const,
    registers: [this.registry],
  });
  readonly capacity = new Gauge({
    name: 'pizza_capacity',
    help: 'Records a role works on at once at most',
    labelNames: ['role'] as const,
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'pizza_consumer_lag',
    help: "Records on a partition after the group's committed offset (includes records in flight: commits trail the work)",
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [this.registry],
  });
  readonly kafkaUp = new Gauge({
    name: 'pizza_kafka_up',
    help: '1 while this process reaches the Kafka cluster (always 1 on the embedded bus)',
    registers: [this.registry],
  });
  readonly ordersByStatus = new Gauge({
    name: 'pizza_orders',
    help: "Orders in this host's orders view, by the status a customer sees",
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly ordersPlaced = new Counter({
    name: 'pizza_orders_placed_total',
    help: 'Orders placed through this web app',
    registers: [this.registry],
  });
  readonly ordersRejected = new Counter({
    name: 'pizza_orders_rejected_total',
    help: 'Orders refused: a bad form, or the bus unavailable',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pizza_process_' });
  }

  /** What a role's dispatcher reports, turned into this process's metrics. */
  observer(role: string, capacity: number): DispatchObserver {
    this.capacity.set({ role }, capacity);
    this.inFlight.set({ role }, 0);
    return {
      started: () => this.inFlight.inc({ role }),
      finished: (record: BusRecord, seconds: number, outcome: 'handled' | 'dead_lettered' | 'abandoned') => {
        this.inFlight.dec({ role });
        if (outcome === 'abandoned') return;
        this.events.inc({ role, topic: record.topic, outcome });
        this.handlerSeconds.observe({ role, topic: record.topic }, seconds);
      },
      failed: (record: BusRecord, kind: FailureKind) => {
        this.events.inc({ role, topic: record.topic, outcome: 'failed' });
        this.failures.inc({ role, topic: record.topic, kind });
      },
    };
  }
}
