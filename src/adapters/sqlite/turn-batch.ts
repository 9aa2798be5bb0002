import type { PartitionOffset } from '../bus/bus.js';

interface Pending<Item, Result> {
  item: Item;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

/**
 * Writes the items of a projection as they arrive, and their source's
 * positions.
 * - `write(items, positions)` must store every item and every position in
 *   one transaction, and return a result (or an error) per item.
 */
export type BatchWrite<Item, Result> = (items: Item[], positions: PartitionOffset[]) => Array<Result | Error>;

/**
 * Where a batch is written: the file's next commit (SqliteFile.write), so
 * that a projection's batch commits with whatever else was written to the
 * file meanwhile. Resolves once the work has committed.
 */
export type TurnRunner = <T>(work: () => T) => Promise<T>;

/**
 * Gathers what a projection writes until the file's next commit (the end of
 * the turn on a quiet file, a few milliseconds later on a busy one) and
 * writes it as one batch in that commit. A commit costs far more than a row,
 * and a projection applies records of many orders at once.
 */
export class TurnBatch<Item, Result> {
  private queue: Array<Pending<Item, Result>> = [];
  private positions = new Map<string, PartitionOffset>();
  private scheduled = false;

  constructor(
    private readonly write: BatchWrite<Item, Result>,
    private readonly run: TurnRunner,
  ) {}

  /** Resolves with the item's result once its transaction has committed. */
  submit(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Notes how far a partition has been read (every record before it is
   * written); saved in the next transaction, so the position never runs
   * ahead of the items. If the process dies first, those records are read
   * again, and a projection must store a record twice as once.
   */
  notePosition(position: PartitionOffset): void {
    this.positions.set(`${position.topic}\u0000${position.partition}`, position);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // The batch is taken when the file commits, so it holds every item queued until then.
    let batch: Array<Pending<Item, Result>> = [];
    this.run(() => {
      this.scheduled = false;
      batch = this.queue;
      const positions = [...this.positions.values()];
      this.queue = [];
      this.positions.clear();
      return this.write(
        batch.map((pending) => pending.item),
        positions,
      );
    }).then(
      (results) => {
        batch.forEach((pending, index) => {
          const result = results[index];
          if (result instanceof Error) pending.reject(result);
          else pending.resolve(result as Result);
        });
      },
      (error: unknown) => {
        if (this.scheduled) {
          // The work never ran (the file was closed): what it would have taken fails with it.
          this.scheduled = false;
          batch = this.queue;
          this.queue = [];
          this.positions.clear();
        }
        for (const pending of batch) pending.reject(error);
      },
    );
  }
}
