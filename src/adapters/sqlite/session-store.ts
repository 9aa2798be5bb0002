import type { PartitionOffset, PartitionRef } from '../bus/bus.js';
import { SqliteFile } from './sqlite-file.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS revoked_sessions (
  session_id TEXT PRIMARY KEY,
  -- After this (epoch ms) the cookie is refused for its age alone, and the row can go.
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS revoked_sessions_by_expiry ON revoked_sessions (expires_at);
-- Where this copy has read the sessions topic to, kept with the revocations themselves:
-- a new file reads the topic from the start, whatever the group committed.
CREATE TABLE IF NOT EXISTS session_offsets (
  topic       TEXT NOT NULL,
  partition   INTEGER NOT NULL,
  next_offset TEXT NOT NULL,
  PRIMARY KEY (topic, partition)
);
`;

/** A logged-out session: its cookie is refused until it expires anyway. */
export interface Revocation {
  sessionId: string;
  /** The session's own expiry, epoch ms. */
  expiresAt: number;
}

/**
 * This web host's copy of the logged-out sessions, projected from the
 * sessions topic into the orders database file (its own connection).
 *
 * Every request asks whether its session was logged out, so the answer comes
 * from memory: the table is read once when the store opens, and every change
 * goes through this store, to memory and file alike. The file is what a
 * restart starts from. One store per file in a process (ShopStores makes it).
 */
export class SessionStore {
  /** The revoked sessions and their expiry (epoch ms), as the table holds them. */
  private readonly revoked = new Map<string, number>();

  /** On a file this process has open (see SqliteFiles); `owned` when closing the store closes the file. */
  constructor(
    readonly file: SqliteFile,
    private readonly owned = false,
  ) {
    file.db.exec(SCHEMA);
    const rows = file.sql('SELECT session_id, expires_at FROM revoked_sessions').all() as {
      session_id: string;
      expires_at: number;
    }[];
    for (const row of rows) this.revoked.set(row.session_id, row.expires_at);
  }

  static open(path: string): SessionStore {
    return new SessionStore(new SqliteFile(path), true);
  }

  /** Records a logout; the same session twice keeps the later expiry. */
  revoke(revocation: Revocation): void {
    const expiresAt = Math.round(revocation.expiresAt);
    // Refused here at once, even should the write below fail.
    this.revoked.set(revocation.sessionId, Math.max(expiresAt, this.revoked.get(revocation.sessionId) ?? expiresAt));
    this.file
      .sql(
        `INSERT INTO revoked_sessions (session_id, expires_at) VALUES (?, ?)
         ON CONFLICT (session_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
      )
      .run(revocation.sessionId, expiresAt);
  }

  isRevoked(sessionId: string): boolean {
    return this.revoked.has(sessionId);
  }

  /** Where to resume the partitions this copy has read before; the others are left out. */
  storedPositions(partitions: readonly PartitionRef[]): PartitionOffset[] {
    const read = this.file.sql('SELECT next_offset FROM session_offsets WHERE topic = ? AND partition = ?');
    return partitions.flatMap(({ topic, partition }) => {
      const row = read.get(topic, partition) as { next_offset: string } | undefined;
      return row ? [{ topic, partition, offset: row.next_offset }] : [];
    });
  }

  /** Remembers the next offset to read; the revocations before it are stored. */
  savePosition(position: PartitionOffset): void {
    this.file
      .sql(
        `INSERT INTO session_offsets (topic, partition, next_offset) VALUES (?, ?, ?)
         ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset`,
      )
      .run(position.topic, position.partition, position.offset);
  }

  /** Forgets revocations of sessions expired before `now` (their cookies are refused anyway); returns how many. */
  purge(now: number): number {
    const purged = this.file.sql('DELETE FROM revoked_sessions WHERE expires_at <= ?').run(now).changes;
    for (const [sessionId, expiresAt] of this.revoked) if (expiresAt <= now) this.revoked.delete(sessionId);
    return purged;
  }

  /** Closes the file when the store has it to itself; a shared file is closed where it was opened. */
  close(): void {
    if (this.owned) this.file.close();
  }
}
