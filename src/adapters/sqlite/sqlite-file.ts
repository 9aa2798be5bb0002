import { basename, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { PizzaError } from '../../errors.js';
import { openDatabase, type SqliteDatabase, type StatementCache, statementCache } from './database.js';
import { DEFAULT_COMMIT_INTERVAL_MS, TurnTransaction } from './turn-transaction.js';

export interface SqliteFileOptions {
  /** Caps the file's size (PRAGMA max_page_count): past it, writes fail as on a full disk. */
  maxSizeMb?: number | undefined;
  /** Where the file says, once, that it is full, and once that it has room again. */
  log?: Logger | undefined;
  /** The setting that caps it, named in the full line; e.g. `[state-store-orders] max_size_mb`. */
  capSetting?: string | undefined;
  /** How long writes must go through, none refused for want of room, before the file has room again. */
  roomConfirmMs?: number | undefined;
}

/**
 * Near its limit a file still takes a write that fits in a page it has, and
 * refuses the next that needs a new page (another process writing the file
 * makes such pages): one commit going through says little. Writes must go
 * through this long with none refused before the file counts as having room.
 */
const ROOM_CONFIRM_MS = 5_000;

/**
 * One SQLite file as this process writes it: one connection and one write
 * batcher (see TurnTransaction), shared by every store on the file. Two
 * connections of one process writing one file would take turns at its lock
 * and commit apart; one connection commits everything written meanwhile once.
 *
 * A file that cannot grow (a full disk, or `maxSizeMb`) fails its writes with
 * STORE_FULL, which the roles wait out like a broker outage. The file says so
 * in one line, is not ready until a commit goes through again, and says that
 * in one more.
 */
export class SqliteFile {
  readonly db: SqliteDatabase;
  /** Statements prepared once per file, shared by its stores. */
  readonly sql: StatementCache;
  private readonly turn: TurnTransaction;
  /** When writes began to fail for want of room (performance.now()), until the file has room again. */
  private fullSince: number | undefined;
  /** The last write refused, and the last commit, for want of room (performance.now()). */
  private lastFullAt = Number.NEGATIVE_INFINITY;
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  private roomCheck: NodeJS.Timeout | undefined;

  /** `commitIntervalMs`: how often a busy file commits at most (0: at the end of every turn that wrote). */
  constructor(
    readonly path: string,
    commitIntervalMs = DEFAULT_COMMIT_INTERVAL_MS,
    private readonly options: SqliteFileOptions = {},
  ) {
    this.db = openDatabase(path);
    if (options.maxSizeMb !== undefined) {
      const pageSize = this.db.pragma('page_size', { simple: true }) as number;
      // SQLite keeps a cap below the file's current size at that size: the file just cannot grow.
      this.db.pragma(`max_page_count = ${Math.max(1, Math.floor((options.maxSizeMb * 1024 * 1024) / pageSize))}`);
    }
    this.sql = statementCache(this.db);
    this.turn = new TurnTransaction(this.db, commitIntervalMs, {
      committed: () => this.committed(),
      full: (error) => this.full(error),
    });
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

  /** Undefined while writes go through; else why not, for the readiness probe. */
  notReady(): string | undefined {
    if (this.fullSince === undefined) return undefined;
    return `${basename(this.path)} is full: writes wait for room`;
  }

  /** Commits what has been written, then closes. Idempotent. */
  close(): void {
    clearTimeout(this.roomCheck);
    if (!this.db.open) return;
    this.turn.flush();
    this.db.close();
  }

  private full(error: PizzaError): void {
    this.lastFullAt = performance.now();
    if (this.fullSince !== undefined) return;
    this.fullSince = this.lastFullAt;
    const pages = this.db.open ? (this.db.pragma('page_count', { simple: true }) as number) : undefined;
    const { maxSizeMb, capSetting = 'max_size_mb' } = this.options;
    const cap = maxSizeMb === undefined ? '' : ` or its cap (${capSetting} = ${maxSizeMb})`;
    this.options.log?.error(
      { file: this.path, pages, maxSizeMb, reason: error.message },
      `${this.path} is full: the disk${cap} leaves no room to write. Nothing read is skipped or committed past ` +
        'what was written: the work waits, and carries on by itself once there is room. Free disk space' +
        (cap ? ', or raise the cap and restart.' : '.'),
    );
  }

  private committed(): void {
    this.lastCommitAt = performance.now();
    this.checkRoom();
  }

  /** Room again once a commit went through and none was refused for `roomConfirmMs`; looks again until then. */
  private checkRoom(): void {
    if (this.fullSince === undefined || this.roomCheck !== undefined) return;
    if (this.lastCommitAt <= this.lastFullAt) return; // The next commit looks again.
    const wait = this.lastFullAt + (this.options.roomConfirmMs ?? ROOM_CONFIRM_MS) - performance.now();
    if (wait > 0) {
      this.roomCheck = setTimeout(() => {
        this.roomCheck = undefined;
        this.checkRoom();
      }, wait);
      this.roomCheck.unref();
      return;
    }
    const fullForMs = Math.round(performance.now() - this.fullSince);
    this.fullSince = undefined;
    this.options.log?.info({ file: this.path, fullForMs }, `${this.path} has room again: writes go through`);
  }
}

/**
 * The files a process has open, each opened once: stores of one file share
 * its connection and batcher. Made where the roles are wired, passed to them,
 * and closed there once they have stopped.
 */
export class SqliteFiles {
  private readonly files = new Map<string, SqliteFile>();

  /** `options` apply when the file is opened, not to a file this process has open already. */
  open(path: string, options: SqliteFileOptions = {}): SqliteFile {
    const key = path === ':memory:' ? path : resolve(path);
    let file = this.files.get(key);
    if (!file?.open) {
      file = new SqliteFile(path, DEFAULT_COMMIT_INTERVAL_MS, options);
      this.files.set(key, file);
    }
    return file;
  }

  /** Why some file takes no writes, for the readiness probe; undefined when every one does. */
  notReady(): string | undefined {
    const problems = [...this.files.values()].flatMap((file) => (file.open ? (file.notReady() ?? []) : []));
    return problems.length > 0 ? problems.join('; ') : undefined;
  }

  /** Closes every file (commits each one's last writes first). */
  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }
}
