import type { StatementCache } from './database.js';
import type { OrderEvent } from './orders-schema.js';

/** An event that changed its order's status, with the change's number. */
export interface AppliedEvent extends OrderEvent {
  seq: number;
}

interface EventRow {
  order_id: string;
  topic: string;
  partition: number;
  offset: string;
  status: number;
  event_timestamp: number;
  received_at: number;
  applied_seq: number | null;
}

/**
 * What the view read, for the reader: an order's timeline of events, and the
 * change feed (statuses changed since a number) that pushes updates to browsers.
 */
export class OrderTimeline {
  constructor(private readonly sql: StatementCache) {}

  /** True when the status role has seen any event of this order: proof that it is on the bus. */
  hasEvents(orderId: string): boolean {
    return this.sql('SELECT 1 FROM order_events WHERE order_id = ? LIMIT 1').get(orderId) !== undefined;
  }

  listEvents(orderId: string): OrderEvent[] {
    const rows = this.sql(
      `SELECT order_id, topic, partition, offset, status, event_timestamp, received_at FROM order_events
         WHERE order_id = ? ORDER BY event_timestamp, received_at`,
    ).all(orderId) as EventRow[];
    return rows.map(toEvent);
  }

  /**
   * The events that changed the order's status, in the order they changed it
   * (as far back as retention keeps them): the view's history of the order.
   */
  appliedEvents(orderId: string): AppliedEvent[] {
    const rows = this.sql(
      `SELECT order_id, topic, partition, offset, status, event_timestamp, received_at, applied_seq FROM order_events
         WHERE order_id = ? AND applied_seq IS NOT NULL ORDER BY applied_seq`,
    ).all(orderId) as EventRow[];
    return rows.map((row) => ({ ...toEvent(row), seq: row.applied_seq as number }));
  }

  /** The number of the order's last status change, 0 when it has no status. */
  statusSeq(orderId: string): number {
    const row = this.sql('SELECT seq FROM status WHERE order_id = ?').get(orderId) as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  /** The newest change's sequence number; start `statusChangesSince` from it. */
  latestStatusSeq(): number {
    const row = this.sql('SELECT seq FROM status_changes WHERE id = 1').get() as { seq: number };
    return row.seq;
  }

  /** Statuses changed after sequence number `since`, oldest first, for pushing updates to browsers. */
  statusChangesSince(since: number, limit = 1000): Array<{ orderId: string; status: number; seq: number }> {
    const rows = this.sql('SELECT order_id, status, seq FROM status WHERE seq > ? ORDER BY seq LIMIT ?').all(
      since,
      limit,
    ) as Array<{ order_id: string; status: number; seq: number }>;
    return rows.map((row) => ({ orderId: row.order_id, status: row.status, seq: row.seq }));
  }

  /**
   * As `statusChangesSince`, with the status of the order's last event: the stage an order
   * the watchdog shows as stuck had reached (order admission counts the kitchen's backlog by it).
   */
  stageChangesSince(
    since: number,
    limit = 1000,
  ): Array<{ orderId: string; status: number; eventStatus: number; seq: number }> {
    const rows = this.sql(
      'SELECT order_id, status, event_status, seq FROM status WHERE seq > ? ORDER BY seq LIMIT ?',
    ).all(since, limit) as Array<{ order_id: string; status: number; event_status: number; seq: number }>;
    return rows.map((row) => ({
      orderId: row.order_id,
      status: row.status,
      eventStatus: row.event_status,
      seq: row.seq,
    }));
  }

  /**
   * Events applied that did not change a status: duplicates, redeliveries and
   * late old events, which the view ignores. Counted over the file's lifetime.
   */
  duplicatesIgnored(): number {
    const row = this.sql("SELECT value FROM view_counters WHERE name = 'events_ignored'").get() as
      | { value: number }
      | undefined;
    return row?.value ?? 0;
  }

  /** How many orders the view holds at each status a customer sees. */
  countByStatus(): Array<{ status: number; count: number }> {
    return this.sql('SELECT status, count(*) AS count FROM status GROUP BY status').all() as Array<{
      status: number;
      count: number;
    }>;
  }
}

function toEvent(row: EventRow): OrderEvent {
  return {
    orderId: row.order_id,
    topic: row.topic,
    partition: row.partition,
    offset: row.offset,
    status: row.status,
    eventTimestamp: row.event_timestamp,
    receivedAt: row.received_at,
  };
}
