/**
 * The server's SQLite files hold every user's notifications, alerts and idempotency records: they,
 * their WAL and shared-memory files are readable by the server's user only (0600), in a directory
 * it makes 0700; a file left wider by an older server is narrowed when opened. Every file is in WAL
 * mode with synchronous=FULL, which the event log's acknowledgements stand on.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { openSqliteFile } from '../../server/common/sqlite';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-sqlite-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;
const SCHEMA = 'CREATE TABLE IF NOT EXISTS t (x INTEGER) STRICT;';

test('a new database, its WAL and its shared memory are 0600 in a directory made 0700', () => {
  const path = join(dir, 'made', 'events.sqlite');
  const db = openSqliteFile(path, SCHEMA, 1);
  try {
    db.exec('INSERT INTO t VALUES (1)');
    expect(existsSync(`${path}-wal`)).toBe(true);
    expect(existsSync(`${path}-shm`)).toBe(true);
    expect({ dir: mode(join(dir, 'made')), db: mode(path), wal: mode(`${path}-wal`), shm: mode(`${path}-shm`) }).toEqual({
      dir: 0o700,
      db: 0o600,
      wal: 0o600,
      shm: 0o600,
    });
  } finally {
    db.close();
  }
});

test('files an older server left readable by others (a crash leaves the WAL behind) are narrowed to 0600 when opened', () => {
  const path = join(dir, 'alerts.sqlite');
  openSqliteFile(path, SCHEMA, 1).close();
  chmodSync(path, 0o644);
  for (const file of [`${path}-wal`, `${path}-shm`]) writeFileSync(file, '', { mode: 0o644 });
  const db = openSqliteFile(path, SCHEMA, 1);
  try {
    db.exec('INSERT INTO t VALUES (1)');
    expect([mode(path), mode(`${path}-wal`), mode(`${path}-shm`)]).toEqual([0o600, 0o600, 0o600]);
  } finally {
    db.close();
  }
});

test('every file is in WAL mode with synchronous=FULL: a commit that returned is fsynced', () => {
  const db = openSqliteFile(join(dir, 'events.sqlite'), SCHEMA, 1);
  try {
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    // 2 is FULL (https://www.sqlite.org/pragma.html#pragma_synchronous).
    expect(db.prepare('PRAGMA synchronous').get()).toEqual({ synchronous: 2 });
  } finally {
    db.close();
  }
});
