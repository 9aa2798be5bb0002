import type Database from 'better-sqlite3';
import type { PizzaError } from '../../errors.js';
import type { SqliteDatabase } from './database.js';
import { isSqliteFull, storeFullError } from './store-full.js';

interface Pending {
  work: () => unknown;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/**
 * How often a busy file commits at most: writes that keep coming within this
 * long of the last commit wait for the next one, so that under load a commit
 * carries a few milliseconds of writes rather than one turn's. Measured with
 * scripts/micro/sqlite-turns.ts.
 */
export const DEFAULT_COMMIT_INTERVAL_MS = 2;

/** Told how writes fare, so the file can say when it is full and when it has room again. */
export interface TurnWatch {
  /** A transaction with writes committed. */
  committed(): void;
  /** A write or a commit failed for want of room (SQLITE_FULL). */
  full(error: PizzaError): void;
}

/**
 * A file's one write batcher: everything written to the file goes into one
 * SQLite transaction per commit. A commit costs far more than a row (it
 * writes every page it touched to the WAL), and the web app, the view and the
 * log copy each write many small things at once.
 * - A quiet file commits at the end of the turn that wrote: a lone write waits
 *   for nothing. A busy one (a write within `intervalMs` of the last commit)
 *   commits `intervalMs` after the last commit, with every write since.
 * - `run(work)` queues `work` for the next commit and resolves once it has
 *   committed: for writers that answer only after their write is durable. The
 *   work runs at commit time, so the file's write lock is held only then.
 * - `now(work)` runs `work` at once in the open transaction (opening it when
 *   needed), for writers that need the result now and can let the commit
 *   follow (delivery's memory, a logout).
 * Each work runs in a savepoint of its own: one that throws is undone alone
 * and fails alone. Each still sees the ones before it, so a check-then-insert
 * stays one atomic step. SQLITE_FULL is the exception: SQLite ends the whole
 * transaction, so every work of that commit fails with it (as STORE_FULL).
 */
export class TurnTransaction {
  /** Commits made, for measuring. */
  commits = 0;
  private queue: Pending[] = [];
  /** The pending commit: at the end of the turn, or on a timer when the file is busy. */
  private scheduled: { immediate: NodeJS.Immediate } | { timer: NodeJS.Timeout } | undefined;
  /** When the last commit began (performance.now()), or -Infinity before the first. */
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  /** Set when `now` wrote since the last commit: nobody awaits those writes, so a failed commit must not pass unseen. */
  private unawaited = false;
  /** Set when SQLite ended the open transaction under `now`'s writes (a full file): they are gone. */
  private unawaitedLost: unknown;
  private readonly statements: Record<
    'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'undo',
    Database.Statement
  >;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly intervalMs = DEFAULT_COMMIT_INTERVAL_MS,
    private readonly watch?: TurnWatch,
  ) {
    // Prepared once: `exec` parses its text on every call, twice per commit and twice per work.
    this.statements = {
      // IMMEDIATE: another process writing the file (serve and status may run apart) is waited for
      // here, at the start, rather than failing the commit.
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT turn_work'),
      release: db.prepare('RELEASE turn_work'),
      undo: db.prepare('ROLLBACK TO turn_work'),
    };
  }

  /** Resolves with what `work` returned once its transaction has committed. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (result: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Runs `work` now, in the open transaction; it commits with the rest. */
  now<T>(work: () => T): T {
    this.begin();
    this.schedule();
    this.unawaited = true;
    try {
      return this.inSavepoint(work);
    } catch (error) {
      const failure = this.failed(error);
      // SQLite rolled the transaction back: the earlier `now` writes went with it, unseen by their writers.
      if (!this.db.inTransaction) this.unawaitedLost ??= failure;
      throw failure;
    }
  }

  /** Commits what has been written so far, queued works included (before closing the file). */
  flush(): void {
    if (this.scheduled === undefined) return;
    if ('immediate' in this.scheduled) clearImmediate(this.scheduled.immediate);
    else clearTimeout(this.scheduled.timer);
    this.scheduled = undefined;
    const batch = this.queue;
    const unawaited = this.unawaited;
    const lost = this.unawaitedLost;
    this.queue = [];
    this.unawaited = false;
    this.unawaitedLost = undefined;
    const outcomes: Array<{ value: unknown } | { error: unknown }> = [];
    // From the start: a busy file commits every interval, however long its commits take.
    this.lastCommitAt = performance.now();
    try {
      if (lost !== undefined) throw lost;
      if (!this.db.open) throw new Error(`${this.db.name} is closed`);
      this.begin();
      for (const pending of batch) {
        try {
          outcomes.push({ value: this.inSavepoint(pending.work) });
        } catch (error) {
          // SQLite ended the whole transaction (SQLITE_FULL does): the works before this one went with it.
          if (!this.db.inTransaction) throw error;
          outcomes.push({ error: this.failed(error) });
        }
      }
      this.statements.commit.run();
      this.commits += 1;
    } catch (error) {
      const failure = this.failed(error);
      if (this.db.open && this.db.inTransaction) this.statements.rollback.run();
      for (const pending of batch) pending.reject(failure);
      // A failed commit (a full or failing disk) of writes their writer already acted on (deliver's
      // memory) ends the process rather than pass unseen; a restart rebuilds that memory from Kafka.
      if (unawaited) throw failure;
      return;
    }
    if (batch.length > 0 || unawaited) this.watch?.committed();
    batch.forEach((pending, index) => {
      const outcome = outcomes[index] as { value: unknown } | { error: unknown };
      if ('error' in outcome) pending.reject(outcome.error);
      else pending.resolve(outcome.value);
    });
  }

  /** The error a writer sees: SQLITE_FULL as STORE_FULL (retried, never dead-lettered), told to the watch. */
  private failed(error: unknown): unknown {
    if (!isSqliteFull(error)) return error;
    const full = storeFullError(this.db.name, error);
    this.watch?.full(full);
    return full;
  }

  private inSavepoint<T>(work: () => T): T {
    const { savepoint, release, undo } = this.statements;
    savepoint.run();
    try {
      const result = work();
      release.run();
      return result;
    } catch (error) {
      if (this.db.inTransaction) {
        undo.run();
        release.run();
      }
      throw error;
    }
  }

  private begin(): void {
    if (!this.db.inTransaction) this.statements.begin.run();
  }

  private schedule(): void {
    if (this.scheduled !== undefined) return;
    const wait = this.lastCommitAt + this.intervalMs - performance.now();
    // Quiet: at the end of this turn. Busy: once the interval since the last commit is over.
    this.scheduled =
      wait <= 0 ? { immediate: setImmediate(() => this.flush()) } : { timer: setTimeout(() => this.flush(), wait) };
  }
}
