import { resolve } from 'node:path';
import { openDatabase, type SqliteDatabase, type StatementCache, statementCache } from './database.js';
import { DEFAULT_COMMIT_INTERVAL_MS, TurnTransaction } from './turn-transaction.js';

/**
 * One SQLite file as this process writes it: one connection and one write
 * batcher (see TurnTransaction), shared by every store on the file. Two
 * connections of one process writing one file would take turns at its lock
 * and commit apart; one connection commits everything written meanwhile once.
 */
export class SqliteFile {
  readonly db: SqliteDatabase;
  /** Statements prepared once per file, shared by its stores. */
  readonly sql: StatementCache;
  private readonly turn: TurnTransaction;

  /** `commitIntervalMs`: how often a busy file commits at most (0: at the end of every turn that wrote). */
  constructor(
    readonly path: string,
    commitIntervalMs = DEFAULT_COMMIT_INTERVAL_MS,
  ) {
    this.db = openDatabase(path);
    this.sql = statementCache(this.db);
    this.turn = new TurnTransaction(this.db, commitIntervalMs);
  }

  /** Queues `work` for the next commit; resolves with its result once committed. */
  readonly write = <T>(work: () => T): Promise<T> => this.turn.run(work);

  /** Commits made so far, for measuring. */
  get commits(): number {
    return this.turn.commits;
  }

  /** Runs `work` now in the open transaction, which commits with the next commit. */
  writeNow<T>(work: () => T): T {
    return this.turn.now(work);
  }

  get open(): boolean {
    return this.db.open;
  }

  /** Commits what has been written, then closes. Idempotent. */
  close(): void {
    if (!this.db.open) return;
    this.turn.flush();
    this.db.close();
  }
}

/**
 * The files a process has open, each opened once: stores of one file share
 * its connection and batcher. Made where the roles are wired, passed to them,
 * and closed there once they have stopped.
 */
export class SqliteFiles {
  private readonly files = new Map<string, SqliteFile>();

  open(path: string): SqliteFile {
    const key = path === ':memory:' ? path : resolve(path);
    let file = this.files.get(key);
    if (!file?.open) {
      file = new SqliteFile(path);
      this.files.set(key, file);
    }
    return file;
  }

  /** Closes every file (commits each one's last writes first). */
  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }
}
