import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;

/** Opens (creating when needed) a database file in WAL mode; ':memory:' for tests. */
export function openDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // First, so that two processes opening one new file at once (serve and status share the
  // view) wait for each other's switch to WAL instead of failing with "database is locked".
  db.pragma('busy_timeout = 5000');
  // WAL lets the web app read while the status role writes, across processes.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

export type StatementCache = (sql: string) => Database.Statement;

/**
 * Prepares each SQL text once per connection: preparing is a large share of
 * the cost of a small query, and the stores run the same few queries all day.
 */
export function statementCache(db: SqliteDatabase): StatementCache {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
}

/**
 * Adds the columns a table lacks, for files made by an older version. Two
 * processes (serve and status) open the same file, so the look and the change
 * happen in one write transaction.
 */
export function addMissingColumns(db: SqliteDatabase, table: string, columns: Record<string, string>): void {
  db.transaction(() => {
    const present = new Set(
      (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((column) => column.name),
    );
    for (const [name, definition] of Object.entries(columns)) {
      if (!present.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${definition}`);
    }
  }).immediate();
}
