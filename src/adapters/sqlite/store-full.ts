import { PizzaError } from '../../errors.js';

/** better-sqlite3's error for a file that cannot grow: the disk is full, or the file reached its max_page_count. */
export function isSqliteFull(error: unknown): boolean {
  return (
    (error instanceof Error && (error as { code?: unknown }).code === 'SQLITE_FULL') ||
    PizzaError.is(error, 'STORE_FULL')
  );
}

/**
 * The shop's word for SQLITE_FULL, with a retry verdict: the dispatcher waits
 * for room as it waits for a broker, and never dead-letters the record.
 */
export function storeFullError(path: string, cause: unknown): PizzaError {
  if (PizzaError.is(cause, 'STORE_FULL')) return cause;
  return new PizzaError('STORE_FULL', `${path} is full: it cannot grow (disk full, or its size cap)`, { cause });
}
