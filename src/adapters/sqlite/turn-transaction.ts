import type { SqliteDatabase } from './database.js';

interface Pending {
  work: () => unknown;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/**
 * A file's one write batcher: everything written to the file within one turn
 * of the event loop goes into one SQLite transaction, committed when the turn
 * is over. A commit costs far more than a row, and the web app, the view and
 * the log copy each write many small things at once.
 * - `run(work)` queues `work` for the end of the turn and resolves once it has
 *   committed: for writers that answer only after their write is durable.
 * - `now(work)` runs `work` at once in the turn's transaction (opening it when
 *   needed), for writers that need the result now and can let the commit
 *   follow at the end of the turn (delivery's memory, a logout).
 * Each work runs in a savepoint of its own: one that throws is undone alone
 * and fails alone. Each still sees the ones before it, so a check-then-insert
 * stays one atomic step.
 */
export class TurnTransaction {
  private queue: Pending[] = [];
  private scheduled = false;
  /** Set when `now` wrote in this turn: nobody awaits those writes, so a failed commit must not pass unseen. */
  private unawaited = false;

  constructor(private readonly db: SqliteDatabase) {}

  /** Resolves with what `work` returned once its transaction has committed. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (result: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Runs `work` now, in the turn's transaction; it commits with the rest of the turn. */
  now<T>(work: () => T): T {
    this.begin();
    this.schedule();
    this.unawaited = true;
    return this.db.transaction(work)();
  }

  /** Commits what the turn has written so far, queued works included (before closing the file). */
  flush(): void {
    if (!this.scheduled) return;
    this.scheduled = false;
    const batch = this.queue;
    const unawaited = this.unawaited;
    this.queue = [];
    this.unawaited = false;
    const outcomes: Array<{ value: unknown } | { error: unknown }> = [];
    try {
      if (!this.db.open) throw new Error(`${this.db.name} is closed`);
      this.begin();
      for (const pending of batch) {
        try {
          outcomes.push({ value: this.db.transaction(pending.work)() });
        } catch (error) {
          outcomes.push({ error });
        }
      }
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.open && this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const pending of batch) pending.reject(error);
      // A failed commit (a full or failing disk) of writes their writer already acted on (deliver's
      // memory) ends the process rather than pass unseen; a restart rebuilds that memory from Kafka.
      if (unawaited) throw error;
      return;
    }
    batch.forEach((pending, index) => {
      const outcome = outcomes[index] as { value: unknown } | { error: unknown };
      if ('error' in outcome) pending.reject(outcome.error);
      else pending.resolve(outcome.value);
    });
  }

  private begin(): void {
    // IMMEDIATE: another process writing the file (serve and status may run apart) is waited for
    // here, at the start, rather than failing the commit.
    if (!this.db.inTransaction) this.db.exec('BEGIN IMMEDIATE');
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }
}
