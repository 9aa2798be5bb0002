import type { Statement } from 'better-sqlite3';
import type { PartitionOffset, PartitionRef } from '../bus/bus.js';
import type { LogLine, OrderLogValue } from '../logs/order-log-line.js';
import { SqliteFile } from './sqlite-file.js';

/** One stored line, numbered in the order this host received it. */
export interface StoredLogLine {
  seq: number;
  orderId: string;
  line: LogLine;
}

/** Where on the log topic a line came from: applying the same record twice stores it once. */
export interface LogSource {
  topic: string;
  partition: number;
  offset: string;
}

/** Which order's lines of which role changed, up to which line. */
export interface OrderLogChange {
  orderId: string;
  role: string;
  seq: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS order_logs (
  -- AUTOINCREMENT: a number is never given twice, even after retention deletes the newest rows,
  -- so "lines after seq N" stays true for a reader that has seen N.
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id  TEXT NOT NULL,
  role      TEXT NOT NULL,
  time      INTEGER NOT NULL,
  level     INTEGER NOT NULL,
  msg       TEXT NOT NULL,
  fields    TEXT NOT NULL DEFAULT '{}',
  topic     TEXT NOT NULL,
  partition INTEGER NOT NULL,
  offset    TEXT NOT NULL,
  UNIQUE (topic, partition, offset)
);
CREATE INDEX IF NOT EXISTS order_logs_by_order ON order_logs (order_id, role, seq);
CREATE INDEX IF NOT EXISTS order_logs_by_time ON order_logs (time);
-- Where this copy has read the log topic to, kept with the lines themselves: a new file reads from the start.
CREATE TABLE IF NOT EXISTS order_log_offsets (
  topic       TEXT NOT NULL,
  partition   INTEGER NOT NULL,
  next_offset TEXT NOT NULL,
  PRIMARY KEY (topic, partition)
);
`;

interface LineRow {
  seq: number;
  order_id: string;
  role: string;
  time: number;
  level: number;
  msg: string;
  fields: string;
}

/**
 * This host's copy of the roles' log lines about each order, projected from
 * the log topic into the orders database file (its own connection; WAL lets
 * it share the file with the orders view).
 */
export class OrderLogStore {
  /** On a file this process has open (see SqliteFiles); `owned` when closing the store closes the file. */
  constructor(
    readonly file: SqliteFile,
    private readonly owned = false,
  ) {
    file.db.exec(SCHEMA);
  }

  static open(path: string): OrderLogStore {
    return new OrderLogStore(new SqliteFile(path), true);
  }

  /** Stores a line; false when that record was stored before. */
  append(orderId: string, value: OrderLogValue, source: LogSource): boolean {
    return insertLine(this.insert(), orderId, value, source);
  }

  /**
   * Stores several lines and the read positions they reach in one
   * transaction (one WAL commit): a result per line, as `append` gives.
   */
  appendMany(
    lines: ReadonlyArray<{ orderId: string; value: OrderLogValue; source: LogSource }>,
    positions: readonly PartitionOffset[] = [],
  ): boolean[] {
    const insert = this.insert();
    return this.file.db.transaction(() => {
      const results = lines.map(({ orderId, value, source }) => insertLine(insert, orderId, value, source));
      for (const position of positions) this.savePosition(position);
      return results;
    })();
  }

  private insert(): Statement {
    return this.file.sql(
      `INSERT INTO order_logs (order_id, role, time, level, msg, fields, topic, partition, offset)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (topic, partition, offset) DO NOTHING`,
    );
  }

  /** A role's newest `limit` lines about an order, oldest first. */
  latestLines(orderId: string, role: string, limit = 200): StoredLogLine[] {
    const rows = this.file
      .sql('SELECT * FROM order_logs WHERE order_id = ? AND role = ? ORDER BY seq DESC LIMIT ?')
      .all(orderId, role, limit) as LineRow[];
    return rows.reverse().map(toStored);
  }

  /** A role's lines about an order received after line `afterSeq`, oldest first. */
  linesAfter(orderId: string, role: string, afterSeq: number, limit = 200): StoredLogLine[] {
    const rows = this.file
      .sql('SELECT * FROM order_logs WHERE order_id = ? AND role = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(orderId, role, afterSeq, limit) as LineRow[];
    return rows.map(toStored);
  }

  /** The newest line's number, 0 when there is none; start `changesSince` from it. */
  latestSeq(): number {
    const row = this.file.sql('SELECT coalesce(max(seq), 0) AS seq FROM order_logs').get() as { seq: number };
    return row.seq;
  }

  /** Each order and role with lines after `since`, and its newest line's number. */
  changesSince(since: number, limit = 1000): OrderLogChange[] {
    const rows = this.file
      .sql(
        `SELECT order_id, role, max(seq) AS seq FROM
         (SELECT order_id, role, seq FROM order_logs WHERE seq > ? ORDER BY seq LIMIT ?)
       GROUP BY order_id, role ORDER BY seq`,
      )
      .all(since, limit) as Array<{ order_id: string; role: string; seq: number }>;
    return rows.map((row) => ({ orderId: row.order_id, role: row.role, seq: row.seq }));
  }

  /** Where to resume the partitions this copy has read before; the others are left out. */
  storedPositions(partitions: readonly PartitionRef[]): PartitionOffset[] {
    const read = this.file.sql('SELECT next_offset FROM order_log_offsets WHERE topic = ? AND partition = ?');
    return partitions.flatMap(({ topic, partition }) => {
      const row = read.get(topic, partition) as { next_offset: string } | undefined;
      return row ? [{ topic, partition, offset: row.next_offset }] : [];
    });
  }

  /** Remembers the next offset to read; the lines before it are stored. */
  savePosition(position: PartitionOffset): void {
    this.file
      .sql(
        `INSERT INTO order_log_offsets (topic, partition, next_offset) VALUES (?, ?, ?)
         ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset`,
      )
      .run(position.topic, position.partition, position.offset);
  }

  /** Deletes lines logged before `before` (epoch ms); returns how many went. */
  purge(before: number): number {
    return this.file.sql('DELETE FROM order_logs WHERE time < ?').run(before).changes;
  }

  /** Closes the file when the store has it to itself; a shared file is closed where it was opened. */
  close(): void {
    if (this.owned) this.file.close();
  }
}

/** Whether the line was new: a record applied twice is stored once. */
function insertLine(insert: Statement, orderId: string, value: OrderLogValue, source: LogSource): boolean {
  return (
    insert.run(
      orderId,
      value.role,
      Math.round(value.time),
      value.level,
      value.msg,
      JSON.stringify(value.fields),
      source.topic,
      source.partition,
      source.offset,
    ).changes > 0
  );
}

function toStored(row: LineRow): StoredLogLine {
  let fields: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(row.fields);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) fields = parsed as Record<string, unknown>;
  } catch {
    // Written by this store as JSON; a damaged row still shows its message.
  }
  return {
    seq: row.seq,
    orderId: row.order_id,
    line: { ...fields, time: row.time, level: row.level, role: row.role, msg: row.msg, orderId: row.order_id },
  };
}
