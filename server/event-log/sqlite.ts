/**
 * The embedded event log: one SQLite file (Node's built-in `node:sqlite`, no native build). An
 * append commits before its promise resolves, in WAL mode with `synchronous=FULL`, so the WAL is
 * fsynced on every commit: an event acknowledged to its publisher survives `kill -9` and power loss
 * (https://www.sqlite.org/pragma.html#pragma_synchronous). Appends made together share one
 * transaction and so one fsync (group commit, `group-commit.ts`): the seqs are assigned inside
 * it, in call order, and if it fails every append in it fails and none is kept. A topic's epoch
 * lives in the file, so a restart keeps every cursor valid, and a lost or replaced file starts new
 * epochs by itself.
 */
import type { NotificationData } from '../../lib/wire/notifications';
import { num, openSqliteFile, str, transaction, type Row } from '../common/sqlite';
import { createGroupCommitter } from './group-commit';
import type { Appended, EventLog, EventLogOptions, StoredEvent, TopicHead } from './types';
import { resolveRetention } from './types';
import { createWatchers, randomEpoch } from './watchers';

export interface SqliteEventLogOptions extends EventLogOptions {
  /** The database file; its directory is created if missing. */
  readonly path: string;
  /**
   * `group` (default): appends waiting together share one transaction and one fsync. `each`: every
   * append is its own transaction and fsync, as before group commit; kept for the benchmark that
   * compares the two.
   */
  readonly commit?: 'group' | 'each';
  /** Most appends in one group. Default `DEFAULT_MAX_GROUP` (512). */
  readonly maxGroup?: number;
}

/** An append waiting for its group: its data already serialised, so bad data fails it alone. */
interface PendingAppend {
  readonly topic: string;
  readonly data: NotificationData;
  readonly json: string;
}

/** Bumped when the schema changes; a file from a newer server is refused rather than misread. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS topics (
  topic   TEXT PRIMARY KEY,
  epoch   TEXT NOT NULL,
  seq     INTEGER NOT NULL,
  last_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS events (
  topic TEXT NOT NULL,
  seq   INTEGER NOT NULL,
  at    INTEGER NOT NULL,
  data  TEXT NOT NULL,
  PRIMARY KEY (topic, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_age ON events (topic, at);
`;

/** Opens (creating if needed) the log in `path`. */
export async function openSqliteEventLog(options: SqliteEventLogOptions): Promise<EventLog> {
  const retention = resolveRetention(options.retention);
  const now = options.now ?? Date.now;
  const newEpoch = options.newEpoch ?? randomEpoch;
  const watchers = createWatchers(options.onWatcherError);
  const db = openSqliteFile(options.path, SCHEMA, SCHEMA_VERSION);

  const q = {
    topic: db.prepare('SELECT epoch, seq, last_at FROM topics WHERE topic = ?'),
    createTopic: db.prepare('INSERT INTO topics (topic, epoch, seq, last_at) VALUES (?, ?, 0, 0) ON CONFLICT (topic) DO NOTHING'),
    firstSeq: db.prepare('SELECT MIN(seq) AS first FROM events WHERE topic = ?'),
    // A clock stepping back must not make a later event look older than an earlier one.
    advance: db.prepare('UPDATE topics SET seq = seq + 1, last_at = MAX(last_at, ?) WHERE topic = ? RETURNING epoch, seq, last_at'),
    insert: db.prepare('INSERT INTO events (topic, seq, at, data) VALUES (?, ?, ?, ?)'),
    trimCount: db.prepare('DELETE FROM events WHERE topic = ? AND seq <= ?'),
    // `at` never decreases along a topic's seqs, so this removes a prefix and never leaves a hole.
    trimAge: db.prepare('DELETE FROM events WHERE topic = ? AND seq <= (SELECT MAX(seq) FROM events WHERE topic = ? AND at < ?)'),
    readAfter: db.prepare('SELECT seq, at, data FROM events WHERE topic = ? AND seq > ? ORDER BY seq LIMIT ?'),
    newest: db.prepare('SELECT seq, at, data FROM events WHERE topic = ? ORDER BY seq DESC LIMIT ?'),
    clearEvents: db.prepare('DELETE FROM events WHERE topic = ?'),
    restart: db.prepare(
      'INSERT INTO topics (topic, epoch, seq, last_at) VALUES (?, ?, 0, 0) ' +
        'ON CONFLICT (topic) DO UPDATE SET epoch = excluded.epoch, seq = 0, last_at = 0',
    ),
    topics: db.prepare('SELECT topic FROM topics'),
  };
  // Rows of events come back as arrays (`seq`, `at`, `data`): a replay reads thousands, and
  // building an object with named keys for each cost about as much as the query itself.
  q.readAfter.setReturnArrays(true);
  q.newest.setReturnArrays(true);
  let closed = false;

  function open(): void {
    if (closed) throw new Error('The event log is closed');
  }

  /** The topic's row, created with a new epoch the first time the topic is named. */
  function topicRow(topic: string): Row {
    const row = q.topic.get(topic);
    if (row) return row;
    q.createTopic.run(topic, newEpoch());
    return q.topic.get(topic)!;
  }

  /** An event from a row of `readAfter` or `newest`, read as an array `[seq, at, data]`. */
  const toEvent = (topic: string, epoch: string, row: unknown): StoredEvent => {
    const [seq, at, data] = row as [number, number, string];
    // Written by `append` from validated data; this file is not an input boundary.
    return { topic, epoch, seq, at, data: JSON.parse(data) as NotificationData };
  };

  const trimAge = (topic: string, cutoff: number): number => Number(q.trimAge.run(topic, topic, cutoff).changes);

  /** One transaction for the whole group: seqs in call order, each topic trimmed once at the end. */
  function commitGroup(items: readonly PendingAppend[]): StoredEvent[] {
    const events = transaction(db, () => {
      const newest = new Map<string, { seq: number; at: number }>();
      const written = items.map(({ topic, data, json }): StoredEvent => {
        const at = Math.floor(now());
        let advanced = q.advance.get(at, topic);
        if (!advanced) {
          q.createTopic.run(topic, newEpoch());
          advanced = q.advance.get(at, topic)!;
        }
        const seq = num(advanced, 'seq');
        const event = { topic, epoch: str(advanced, 'epoch'), seq, at: num(advanced, 'last_at'), data };
        q.insert.run(topic, seq, event.at, json);
        newest.set(topic, event);
        return event;
      });
      for (const [topic, { seq, at }] of newest) {
        if (seq > retention.maxEvents) q.trimCount.run(topic, seq - retention.maxEvents);
        trimAge(topic, at - retention.maxAgeMs);
      }
      return written;
    });
    // Committed: watchers hear of the events, in seq order, before any append resolves.
    for (const event of events) watchers.emit({ type: 'event', event });
    return events;
  }

  const group = createGroupCommitter<PendingAppend, StoredEvent>({ commit: commitGroup, maxGroup: options.maxGroup });
  const commitEach = (item: PendingAppend): StoredEvent => commitGroup([item])[0]!;

  return {
    kind: 'sqlite',
    async append(topic, data) {
      open();
      const item: PendingAppend = { topic, data, json: JSON.stringify(data) };
      const event = options.commit === 'each' ? commitEach(item) : await group.submit(item);
      const appended: Appended = { topic, epoch: event.epoch, seq: event.seq, at: event.at };
      return appended;
    },
    async head(topic) {
      open();
      const row = topicRow(topic);
      const seq = num(row, 'seq');
      const first = q.firstSeq.get(topic)?.first;
      const head: TopicHead = { epoch: str(row, 'epoch'), seq, firstSeq: typeof first === 'number' ? first : seq + 1 };
      return head;
    },
    async readAfter(topic, after, limit) {
      open();
      const epoch = str(topicRow(topic), 'epoch');
      if (after.epoch !== epoch || limit <= 0) return [];
      return q.readAfter.all(topic, after.seq, limit).map((row) => toEvent(topic, epoch, row));
    },
    async newest(topic, count) {
      open();
      const epoch = str(topicRow(topic), 'epoch');
      if (count <= 0) return [];
      return q.newest.all(topic, count).reverse().map((row) => toEvent(topic, epoch, row));
    },
    async reset(topic) {
      open();
      const epoch = newEpoch();
      transaction(db, () => {
        q.clearEvents.run(topic);
        q.restart.run(topic, epoch);
      });
      watchers.emit({ type: 'reset', topic, epoch });
      return { epoch, seq: 0, firstSeq: 1 };
    },
    async trim() {
      open();
      const cutoff = now() - retention.maxAgeMs;
      return transaction(db, () => q.topics.all().reduce((removed, row) => removed + trimAge(str(row, 'topic'), cutoff), 0));
    },
    watch: (watcher) => watchers.add(watcher),
    async close() {
      if (closed) return;
      closed = true;
      // Appends already accepted are committed (and heard) before the file closes.
      await group.drained();
      watchers.clear();
      db.close();
    },
  };
}
