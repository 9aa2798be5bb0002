import type { SqliteDatabase } from './database.js';
import { TurnBatch } from './turn-batch.js';

/**
 * Runs the writes asked for within one turn of the event loop in one SQLite
 * transaction (a TurnBatch of closures), each in a savepoint of its own: a
 * write that throws is undone alone and rejects alone. A commit costs far
 * more than a row, and the web app places many orders at once. Each write
 * still sees the ones before it, so a check-then-insert stays one atomic step.
 */
export class TurnTransaction {
  private readonly batch: TurnBatch<() => unknown, unknown>;

  constructor(db: SqliteDatabase) {
    this.batch = new TurnBatch((works) =>
      db
        .transaction(() =>
          works.map((work) => {
            try {
              return db.transaction(work)();
            } catch (error) {
              return error instanceof Error ? error : new Error(String(error));
            }
          }),
        )
        .immediate(),
    );
  }

  /** Resolves with what `work` returned once its transaction has committed. */
  run<T>(work: () => T): Promise<T> {
    return this.batch.submit(work) as Promise<T>;
  }
}
