/**
 * What every SQLite file of the server shares (the event log's, the alert store's): how one is
 * opened, and how a write is made atomic. Durability is the same for all of them: WAL with
 * `synchronous=FULL`, so the WAL is fsynced on every commit and a commit that returned survives
 * `kill -9` and power loss (https://www.sqlite.org/pragma.html#pragma_synchronous). They hold
 * every user's data, so they are readable by the server's user only (0600, in a 0700 directory).
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLOutputValue } from 'node:sqlite';

export type Row = Record<string, SQLOutputValue>;
/** Column readers: the server wrote every value itself, so a column holds the type it was written with. */
export const num = (row: Row, column: string): number => row[column] as number;
export const str = (row: Row, column: string): string => row[column] as string;

/**
 * Opens (creating it and its directory if needed) the database in `path` and brings it to
 * `version` of `schema` (idempotent DDL). A file from a newer server is refused rather than misread.
 */
export function openSqliteFile(path: string, schema: string, version: number): DatabaseSync {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  ownerOnly(path);
  const db = new DatabaseSync(path);
  try {
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
    const found = num(db.prepare('PRAGMA user_version').get()!, 'user_version');
    if (found > version) {
      throw new Error(`${path} was written by a newer server (schema ${found}, this one knows ${version})`);
    }
    db.exec(schema);
    db.exec(`PRAGMA user_version = ${version}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Makes `path` (created empty if missing, which SQLite takes as a new database) and any WAL and
 * shared-memory files left beside it 0600. SQLite creates the WAL and shared-memory files with the
 * database file's permissions (https://www.sqlite.org/tempfiles.html), so they follow it.
 */
function ownerOnly(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

/** Runs `run` in one transaction: committed if it returns, rolled back if it throws. */
export function transaction<T>(db: DatabaseSync, run: () => T): T {
  // IMMEDIATE takes the write lock up front, so a second process on the file waits (busy_timeout)
  // instead of failing half-way through.
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = run();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
