/**
 * The hub's IndexedDB: its schema (typed once, as idb's `DBSchema`), its versioned upgrades and the
 * lifecycle of the one connection the hub holds. Every other module reaches the database through
 * `HubDb.get()` and writes through `writeTransaction()`, which awaits `tx.done`.
 *
 * idb's own `openDB` always opens on the global `indexedDB`; the hub must open on the factory its
 * host injects (fake-indexeddb in Node tests, so each test gets a fresh database), so `openConnection`
 * repeats the few lines of `openDB` on `factory.open()`. idb's `wrap` still recognises IDB objects by
 * the global classes (`IDBDatabase`, `IDBTransaction`, ...): browsers and workers have them, Node
 * hosts load `fake-indexeddb/auto` first.
 */
import { wrap, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { FeedEntry } from '../../lib/rpc/feed-entry';
import { topicOwner } from '../../lib/wire/topics';
import type { Logger } from '../core/platform';
import type { OutboxEntry } from '../core/outbox/store';
import type { StoredOverlay } from '../core/overlays/store';
import type { StoredSnapshot } from '../core/alerts/store';
import type { StoredRefusal } from '../core/connection/refusal';
import type { StoredTransport } from '../core/transports/transport-memory';

export const DB_NAME = 'switchboard-hub';

/** The cursor of one `stream` topic: the position of the last event stored for it. */
export interface StoredCursor {
  readonly topic: string;
  readonly epoch: string;
  readonly seq: number;
  /**
   * Set while entries of this epoch past `seq` may already be stored (the cursor was moved back, or
   * into an epoch the feed already held): up to where they may reach. Gone once the cursor passed it.
   */
  readonly checkUpTo?: number;
}

/**
 * A feed entry with the keys its indexes need. `unread` exists only on unread notifications, so
 * the `unread` index holds exactly those (booleans are not valid IndexedDB keys). `order` breaks
 * ties between entries with the same `at`: the event's `seq`, or for a gap just below the `seq`
 * of the event that follows it.
 */
export interface StoredEntry {
  readonly id: string;
  /** `topicOwner` of the entry's topic: its user, or `''` for everyone's (`news`). */
  readonly owner: string;
  readonly at: number;
  readonly order: number;
  readonly unread?: 1;
  readonly entry: FeedEntry;
}

/**
 * Where a journal record sits and what it holds, readable without reading the record: its number
 * (the order records were written in), the owner of its entries (all of one topic) and how many of
 * them are unread, so an unread count can add a journal's share from its keys alone.
 */
export type JournalKey = [number, string, number];

/**
 * Feed entries one large append wrote as a single record (`./feed-journal.ts`), not yet moved
 * into the `feed` store; every reader of the feed moves them first.
 */
export interface StoredJournal {
  readonly key: JournalKey;
  readonly entries: readonly StoredEntry[];
}

export interface HubSchema extends DBSchema {
  cursors: { key: string; value: StoredCursor };
  journal: { key: JournalKey; value: StoredJournal };
  feed: {
    key: string;
    value: StoredEntry;
    indexes: { 'by-owner-time': [string, number, number]; 'owner-unread': [string, number] };
  };
  outbox: { key: string; value: OutboxEntry; indexes: { 'by-seq': number } };
  /**
   * Overlays shown and not yet dismissed, so `overlay(id)` and a dismiss work after a restart; a
   * snoozed one carries the time it comes back, so a restart does not forget it.
   */
  overlays: { key: string; value: StoredOverlay };
  snapshots: { key: string; value: StoredSnapshot };
  /** The last lasting refusal by the server, so a restarted background does not ask again with the same settings. */
  refusal: { key: string; value: StoredRefusal & { readonly key: string } };
  /** Per server URL, which transport worked (WebSocket, streaming, long polling), so a restart does not fail its way down again. */
  transports: { key: string; value: StoredTransport };
}

type Db = IDBPDatabase<HubSchema>;
/** A store seen without the schema's index names, for indexes that older migrations made. */
type LegacyStore = { createIndex(name: string, keyPath: string | string[]): unknown; deleteIndex(name: string): void };
type UpgradeTransaction = IDBPTransaction<HubSchema, StoreNames<HubSchema>[], 'versionchange'>;

/**
 * One function per schema version, run in order from the stored version up: version n is
 * `migrations.length` after migration n is added. Never edit a shipped migration; append one.
 */
const migrations: ReadonlyArray<(db: Db, tx: UpgradeTransaction) => void> = [
  // 1: cursors and the feed.
  (db) => {
    db.createObjectStore('cursors', { keyPath: 'topic' });
    // Raw store: these two indexes are replaced by migration 3 and no longer in the schema type.
    const feed = db.createObjectStore('feed', { keyPath: 'id' }) as unknown as LegacyStore;
    feed.createIndex('by-time', ['at', 'order']);
    feed.createIndex('unread', 'unread');
  },
  // 2: the outbox of client messages, active overlays and the hub's own state snapshots.
  (db) => {
    const outbox = db.createObjectStore('outbox', { keyPath: 'id' });
    outbox.createIndex('by-seq', 'seq', { unique: true });
    db.createObjectStore('overlays', { keyPath: 'id' });
    db.createObjectStore('snapshots', { keyPath: 'topic' });
  },
  // 3: entries know whose they are, so after another user signs in the feed, its unread count and
  // "mark all read" cover only that user's entries and everyone's (`news`), never the last user's.
  (_db, tx) => {
    const feed = tx.objectStore('feed');
    const legacy = feed as unknown as LegacyStore;
    legacy.deleteIndex('by-time');
    legacy.deleteIndex('unread');
    feed.createIndex('by-owner-time', ['owner', 'at', 'order']);
    feed.createIndex('owner-unread', ['owner', 'unread']);
    // A failed write aborts the upgrade, and opening the database then fails with the reason.
    void (async () => {
      for (let cursor = await feed.openCursor(); cursor; cursor = await cursor.continue()) {
        cursor.update({ ...cursor.value, owner: topicOwner(cursor.value.entry.topic) }).catch(() => {});
      }
    })().catch(() => {});
  },
  // 4: the server's last lasting refusal (origin, token, version) and the settings it refused.
  (db) => {
    db.createObjectStore('refusal', { keyPath: 'key' });
  },
  // 5: the feed's journal: a replay of thousands of events is written as one record.
  (db) => {
    db.createObjectStore('journal', { keyPath: 'key' });
  },
  // 6: per server URL, the transport that worked (issue 13).
  (db) => {
    db.createObjectStore('transports', { keyPath: 'url' });
  },
];

export const DB_VERSION = migrations.length;

export interface HubDb {
  /**
   * The open connection. After the browser terminated it or another context asked for it to close,
   * the next call opens it again. Rejects when the database cannot be opened.
   */
  get(): Promise<Db>;
  /** Closes the connection; transactions in flight still finish. Later `get()` calls reject. */
  close(): void;
}

export interface HubDbDeps {
  readonly factory: IDBFactory;
  readonly log: Logger;
  /** Default `DB_NAME`. */
  readonly name?: string;
}

async function openConnection(deps: HubDbDeps, onLost: (db: Db, why: string) => void): Promise<Db> {
  const name = deps.name ?? DB_NAME;
  const request = deps.factory.open(name, DB_VERSION);
  request.addEventListener('upgradeneeded', (event) => {
    // During `upgradeneeded` the request's result and transaction are set, whatever its types say.
    const db = wrap(request.result) as unknown as Db;
    const tx = wrap(request.transaction as IDBTransaction) as unknown as UpgradeTransaction;
    for (let version = event.oldVersion; version < DB_VERSION; version++) migrations[version]!(db, tx);
  });
  request.addEventListener('blocked', (event) => {
    // Another context still holds an older version open; the upgrade waits for it to close.
    deps.log.warn('opening the hub database waits for another connection to close', {
      oldVersion: event.oldVersion,
      newVersion: event.newVersion,
    });
  });
  const db = (await wrap(request)) as unknown as Db;
  // `blocking`: another context wants to upgrade. Closing lets it; our next get() reopens (and
  // fails if that context moved to a version this code does not know, which is then the truth).
  db.addEventListener('versionchange', () => onLost(db, 'another context is upgrading the database'));
  // `terminated`: the browser closed the connection abnormally (storage cleared, disk gone).
  db.addEventListener('close', () => onLost(db, 'the browser closed the database'));
  return db;
}

/** A handle on the hub's database; the connection opens on the first `get()`. */
export function openHubDb(deps: HubDbDeps): HubDb {
  let current: Promise<Db> | null = null;
  /** The connection `current` resolved to; a late event from an older one must not drop a newer one. */
  let live: Db | null = null;
  let closed = false;

  const onLost = (db: Db, why: string): void => {
    deps.log.warn('hub database connection lost; it reopens on next use', { why });
    db.close();
    if (db !== live) return;
    live = null;
    current = null;
  };

  return {
    get() {
      if (closed) return Promise.reject(new Error('The hub database is closed'));
      current ??= openConnection(deps, onLost).then(
        (db) => (live = db),
        (error: unknown) => {
          current = null;
          throw error;
        },
      );
      return current;
    },
    close() {
      if (closed) return;
      closed = true;
      void current?.then((db) => db.close()).catch(() => {});
    },
  };
}

/**
 * Runs `work` in one readwrite transaction and resolves once it committed (`tx.done`). If `work`
 * throws, the transaction is aborted: IndexedDB would otherwise commit whatever was already
 * requested as soon as the transaction went idle, which would break "all or nothing".
 */
export async function writeTransaction<const Names extends readonly StoreNames<HubSchema>[], T>(
  db: Db,
  names: Names,
  work: (tx: IDBPTransaction<HubSchema, Names, 'readwrite'>) => Promise<T>,
): Promise<T> {
  const tx = db.transaction(names, 'readwrite');
  try {
    const result = await work(tx);
    await tx.done;
    return result;
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // Already aborted by the failed request, or already finished.
    }
    await tx.done.catch(() => {});
    throw error;
  }
}
