import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BusRecord, DispatchObserver, FailureKind } from '../bus/bus.js';

/**
 * Every Prometheus metric of one process, in a registry of its own (so tests
 * that run two shops in one process don't collide). Served on the operator
 * port, never on the customers' one.
 */
export class ShopMetrics {
  readonly registry = new Registry();
  /**
   * What the dispatchers counted since the last scrape, in plain numbers: a
   * record costs a few additions, and prom-client hears of them when read.
   */
  private readonly tallies = new Map<string, RoleTally>();
  readonly events = new Counter({
    name: 'pizza_events_total',
    help: 'Records a role worked on, by outcome: handled, failed (an attempt that threw), dead_lettered',
    labelNames: ['role', 'topic', 'outcome'] as const,
    registers: [this.registry],
    collect: () => {
      for (const tally of this.tallies.values()) {
        for (const topic of tally.topics.values()) {
          if (topic.handled > 0) this.events.inc(topic.handledLabels, topic.handled);
          if (topic.deadLettered > 0) this.events.inc(topic.deadLetteredLabels, topic.deadLettered);
          topic.handled = 0;
          topic.deadLettered = 0;
        }
      }
    },
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
    collect: () => {
      for (const tally of this.tallies.values()) this.inFlight.set(tally.labels, tally.inFlight);
    },
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
    help: 'Orders refused: a bad form, the bus unavailable, a rate limit or a busy kitchen',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pizza_process_' });
  }

  /** What a role's dispatcher reports, turned into this process's metrics. */
  observer(role: string, capacity: number): DispatchObserver {
    this.capacity.set({ role }, capacity);
    // A role started again in this process (tests do) counts on where it was.
    let tally = this.tallies.get(role);
    if (!tally) {
      tally = { labels: { role }, inFlight: 0, topics: new Map() };
      this.tallies.set(role, tally);
    }
    const { topics } = tally;
    const topicTally = (topic: string): TopicTally => {
      let found = topics.get(topic);
      if (!found) {
        found = {
          handled: 0,
          deadLettered: 0,
          handledLabels: { role, topic, outcome: 'handled' },
          deadLetteredLabels: { role, topic, outcome: 'dead_lettered' },
          durationLabels: { role, topic },
        };
        topics.set(topic, found);
      }
      return found;
    };
    return {
      started: () => {
        tally.inFlight += 1;
      },
      finished: (record: BusRecord, seconds: number, outcome: 'handled' | 'dead_lettered' | 'abandoned') => {
        tally.inFlight -= 1;
        if (outcome === 'abandoned') return;
        const topic = topicTally(record.topic);
        if (outcome === 'handled') topic.handled += 1;
        else topic.deadLettered += 1;
        this.handlerSeconds.observe(topic.durationLabels, seconds);
      },
      failed: (record: BusRecord, kind: FailureKind) => {
        this.events.inc({ role, topic: record.topic, outcome: 'failed' });
        this.failures.inc({ role, topic: record.topic, kind });
      },
    };
  }
}

interface RoleTally {
  readonly labels: { role: string };
  inFlight: number;
  readonly topics: Map<string, TopicTally>;
}

/** A role's records of one topic done since the last scrape, and the label sets it reports them under. */
interface TopicTally {
  handled: number;
  deadLettered: number;
  readonly handledLabels: { role: string; topic: string; outcome: string };
  readonly deadLetteredLabels: { role: string; topic: string; outcome: string };
  readonly durationLabels: { role: string; topic: string };
}
