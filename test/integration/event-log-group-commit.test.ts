/**
 * Group commit in the SQLite event log, on a real file: an append resolves only once its event is
 * committed (another connection on the file already reads it); a group whose transaction fails
 * part-way rejects every append in it, keeps none of them and leaves no hole in the seqs; data that
 * cannot be stored fails only its own append; closing commits what was already accepted. The
 * contract every log keeps (order, seqs, watchers, retention) is `event-log.test.ts`; durability
 * across `kill -9` with concurrent publishers is `recovery-server-process.test.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, expect, onTestFinished, test } from 'vitest';
import type { NotificationData } from '../../lib/wire/notifications';
import { openSqliteEventLog } from '../../server/event-log/sqlite';
import type { EventLog, LogChange } from '../../server/event-log/types';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-group-commit-'));
  path = join(dir, 'log.sqlite');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const note = (title: string): NotificationData => ({ title, body: '', level: 'info' });

async function openLog(): Promise<EventLog> {
  const log = await openSqliteEventLog({ path });
  onTestFinished(() => log.close());
  return log;
}

/** A second connection on the same file: it sees only what was committed. */
function otherConnection(): DatabaseSync {
  const db = new DatabaseSync(path);
  onTestFinished(() => db.close());
  return db;
}

test('an append resolves only once its event is committed: another connection already reads it', async () => {
  const log = await openLog();
  await log.append('news', note('first'));
  const other = otherConnection();
  const row = other.prepare('SELECT data FROM events WHERE topic = ? AND seq = ?');
  const seen = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      log.append(i % 2 ? 'news' : 'feed:alice', note(`n${i}`)).then((a) => {
        const found = row.get(a.topic, a.seq);
        return found ? (JSON.parse(found.data as string) as NotificationData).title : null;
      }),
    ),
  );
  expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => `n${i}`));
});

test('a group whose transaction fails part-way rejects every append in it and keeps none; seqs go on with no hole', async () => {
  const log = await openLog();
  const heard: LogChange[] = [];
  log.watch((change) => heard.push(change));
  await log.append('news', note('before'));
  const before = await log.head('news');
  // A real failure inside the transaction, after some of the group's rows were written.
  const other = otherConnection();
  other.exec(`CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN json_extract(NEW.data, '$.title') = 'boom'
    BEGIN SELECT RAISE(ABORT, 'boom refused'); END`);

  // Made together, so they are one group.
  const group = ['a', 'b', 'boom', 'd'].map((title, i) => log.append(i % 2 ? 'feed:new' : 'news', note(title)));
  const settled = await Promise.allSettled(group);
  expect(settled.map((s) => (s.status === 'rejected' ? String(s.reason) : s.status))).toEqual(Array(4).fill(expect.stringMatching(/boom refused/)));
  expect(heard).toHaveLength(1);
  expect(await log.head('news')).toEqual(before);
  expect(await log.readAfter('news', before, 10)).toEqual([]);
  expect(await log.head('feed:new')).toMatchObject({ seq: 0, firstSeq: 1 });
  expect(other.prepare('SELECT COUNT(*) AS n FROM events').get()).toEqual({ n: 1 });

  other.exec('DROP TRIGGER refuse_boom');
  expect(await log.append('news', note('after'))).toMatchObject({ epoch: before.epoch, seq: 2 });
  expect(await log.append('feed:new', note('after'))).toMatchObject({ seq: 1 });
});

test('data that cannot be stored fails its own append only', async () => {
  const log = await openLog();
  const unstorable = { title: 'x', body: '', level: 'info', extra: 1n } as unknown as NotificationData;
  const settled = await Promise.allSettled([log.append('news', note('a')), log.append('news', unstorable), log.append('news', note('c'))]);
  expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  const { epoch } = await log.head('news');
  expect((await log.readAfter('news', { epoch, seq: 0 }, 10)).map((e) => [e.seq, e.data.title])).toEqual([
    [1, 'a'],
    [2, 'c'],
  ]);
});

test('close commits the appends it already accepted, and they are there when the file is opened again', async () => {
  const log = await openSqliteEventLog({ path });
  const pending = Array.from({ length: 20 }, (_, i) => log.append('news', note(`n${i + 1}`)));
  await log.close();
  expect((await Promise.all(pending)).map((a) => a.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  await expect(log.append('news', note('late'))).rejects.toThrow(/closed/);
  const again = await openLog();
  expect(await again.head('news')).toMatchObject({ seq: 20, firstSeq: 1 });
});
