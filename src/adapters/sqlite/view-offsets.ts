import type { PartitionOffset, PartitionRef } from '../bus/bus.js';
import { type SqliteDatabase, statementCache } from './database.js';

const SCHEMA = `
-- Where the view has read each input partition to: kept with the view, so a
-- view rebuilt from nothing (a new file) starts from the beginning, whatever
-- the consumer group committed in Kafka.
CREATE TABLE IF NOT EXISTS view_offsets (
  topic       TEXT NOT NULL,
  partition   INTEGER NOT NULL,
  next_offset TEXT NOT NULL,
  PRIMARY KEY (topic, partition)
);
`;

/** The view's own read positions, written in the view's transactions. */
export class ViewOffsets {
  private readonly sql: ReturnType<typeof statementCache>;

  constructor(db: SqliteDatabase) {
    db.exec(SCHEMA);
    this.sql = statementCache(db);
  }

  /** Where to resume each partition: the stored position, or the start when the view has none. */
  startPositions(partitions: readonly PartitionRef[]): PartitionOffset[] {
    const read = this.sql('SELECT next_offset FROM view_offsets WHERE topic = ? AND partition = ?');
    return partitions.map(({ topic, partition }) => {
      const row = read.get(topic, partition) as { next_offset: string } | undefined;
      // Kafka's "from the beginning".
      return { topic, partition, offset: row?.next_offset ?? '-2' };
    });
  }

  /** Call inside the transaction that applied the events before this position. */
  save(position: PartitionOffset): void {
    this.sql(
      `INSERT INTO view_offsets (topic, partition, next_offset) VALUES (?, ?, ?)
         ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset`,
    ).run(position.topic, position.partition, position.offset);
  }
}
