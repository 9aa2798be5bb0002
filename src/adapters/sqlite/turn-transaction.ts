import type { SqliteDatabase } from './database.js';

interface Pending {
  work: () => unknown;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/**
 * Runs the writes asked for within one turn of the event loop in one SQLite
 * transaction, each in a savepoint of its own: a write that throws is undone
 * alone and rejects alone. A commit costs far more than a row, and the web
 * app places many orders at once. Each write still sees the ones before it,
 * so a check-then-insert stays one atomic step.
 */
export class TurnTransaction {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly db: SqliteDatabase) {}

  /** Resolves with what `work` returned once its transaction has committed. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (result: unknown) => void, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.db
        .transaction(() => {
          for (const pending of batch) {
            try {
              outcomes.push({ ok: true, value: this.db.transaction(pending.work)() });
            } catch (error) {
              outcomes.push({ ok: false, error });
            }
          }
        })
        .immediate();
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) pending.resolve(outcome.value);
      else pending.reject(outcome?.error);
    });
  }
}
