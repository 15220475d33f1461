/**
 * The feed store and the cursors, which change together: received events are written to the feed
 * and their topic's cursor advanced in ONE transaction, so after a crash either both moved or
 * neither did, and a replayed event is recognised by the cursor (and by its stable id) and never
 * stored twice. It also keeps the `read` flags and the unread count (counted in the same
 * transaction as each change, so the count that goes out always matches what is stored).
 *
 * Entries are kept per owner (`topicOwner`): pages, unread counts and "mark read" cover only the
 * viewer's own entries and everyone's (`news`), so after another user signs in on the same browser
 * the last user's notifications are neither shown nor counted (they stay stored for when they
 * come back).
 */
import type { FeedEntry } from '../../lib/rpc/feed-entry';
import type { StreamPosition } from '../../lib/wire/protocol';
import type { FeedStore, Viewer } from '../core/feed/store';
import type { IDBPObjectStore, IDBPTransaction, StoreNames } from 'idb';
import { planAppend, storedThrough, toStored } from './append-plan';
import { writeTransaction, type HubDb, type HubSchema, type StoredCursor, type StoredEntry } from './db';
import { journalKeys, settleJournal, unreadInJournal, writeEntries, type FeedStores } from './feed-journal';

/**
 * A request issued without being awaited at once: if its transaction aborts, the failure reaches
 * the caller through `Promise.all` or `tx.done`, never as an unhandled rejection.
 */
function issued<T>(request: Promise<T>): Promise<T> {
  request.catch(() => {});
  return request;
}

/** Whose entries `viewer` sees: everyone's (`''`) and their own. */
function ownersOf(viewer: string | null): string[] {
  return viewer ? ['', viewer] : [''];
}

/** The feed store of any transaction that includes it. */
type FeedIndexSource = Pick<IDBPObjectStore<HubSchema, ArrayLike<StoreNames<HubSchema>>, 'feed', IDBTransactionMode>, 'index'>;

/** The viewer's unread count, in the caller's transaction. */
async function countUnread(feed: FeedIndexSource, viewer: string | null): Promise<number> {
  const counts = await Promise.all(ownersOf(viewer).map((owner) => feed.index('owner-unread').count(IDBKeyRange.only([owner, 1]))));
  return counts.reduce((sum, n) => sum + n, 0);
}

/** The viewer's unread entries, in the caller's transaction. */
async function unreadEntries(feed: FeedIndexSource, viewer: string | null): Promise<StoredEntry[]> {
  const lists = await Promise.all(ownersOf(viewer).map((owner) => feed.index('owner-unread').getAll(IDBKeyRange.only([owner, 1]))));
  return lists.flat();
}

function readVersion(stored: StoredEntry): StoredEntry {
  const entry = stored.entry;
  return toStored(entry.kind === 'notification' ? { ...entry, read: true } : entry, stored.order);
}

/** The feed and journal stores of a transaction that writes the feed. */
function feedStores(tx: IDBPTransaction<HubSchema, readonly ('feed' | 'journal' | 'cursors')[], 'readwrite'>): FeedStores {
  return { feed: tx.objectStore('feed'), journal: tx.objectStore('journal') };
}

/**
 * Reads settle the journal first, then read in a read-only transaction; a journal that keeps coming
 * back (a replay still being written) makes the read, after this many tries, settle and read in one
 * read-write transaction instead, which waits for the writes but never misses an entry.
 */
const SETTLE_TRIES = 3;

/** Moves journaled entries into the feed, in a read-write transaction whether or not there are any. */
async function settleNow(db: HubDb): Promise<void> {
  await writeTransaction(await db.get(), ['feed', 'journal'], (tx) => settleJournal(feedStores(tx)));
}

/** Moves journaled entries into the feed, if there are any. */
async function settle(db: HubDb): Promise<void> {
  const check = (await db.get()).transaction('journal', 'readonly');
  const pending = await journalKeys(check.store);
  await check.done;
  if (pending.length > 0) await settleNow(db);
}

/** Runs `read` on the feed in a transaction in which no journal waits (settling it first). */
async function readFeed<T>(db: HubDb, read: (feed: FeedIndexSource) => Promise<T>): Promise<T> {
  for (let tries = 1; tries <= SETTLE_TRIES; tries++) {
    const tx = (await db.get()).transaction(['feed', 'journal'], 'readonly');
    if ((await journalKeys(tx.objectStore('journal'))).length === 0) {
      const result = await read(tx.objectStore('feed'));
      await tx.done;
      return result;
    }
    await tx.done;
    // This transaction just found the journal waiting: no need for `settle` to look again.
    await settleNow(db);
  }
  return writeTransaction(await db.get(), ['feed', 'journal'], async (tx) => {
    const stores = feedStores(tx);
    await settleJournal(stores);
    return read(stores.feed);
  });
}

export function createFeedStore(db: HubDb, viewer: Viewer): FeedStore {
  /** Writes the read version of each unread entry; returns the entries that changed. */
  async function markStored(
    stored: readonly (StoredEntry | undefined)[],
    write: (entry: StoredEntry) => Promise<unknown>,
  ): Promise<FeedEntry[]> {
    const changed: FeedEntry[] = [];
    const writes: Promise<unknown>[] = [];
    for (const entry of stored) {
      if (!entry?.unread) continue;
      const read = readVersion(entry);
      writes.push(issued(write(read)));
      changed.push(read.entry);
    }
    await Promise.all(writes);
    return changed;
  }

  return {
    async cursor(topic) {
      const stored = await (await db.get()).get('cursors', topic);
      return stored ? { epoch: stored.epoch, seq: stored.seq } : null;
    },

    async append(topic, start, events, now) {
      return writeTransaction(await db.get(), ['cursors', 'feed', 'journal'], async (tx) => {
        const cursors = tx.objectStore('cursors');
        const stores = feedStores(tx);
        const { feed } = stores;
        let pending = await journalKeys(stores.journal);
        /** Look-ups must see every entry in the feed: move the journal first. */
        const settleFirst = async () => {
          if (pending.length === 0) return;
          await settleJournal(stores);
          pending = [];
        };
        const stored = await cursors.get(topic);
        const old: StreamPosition | null = stored ? { epoch: stored.epoch, seq: stored.seq } : null;
        // A start may look for entries of its epoch.
        if (start) await settleFirst();
        const through = await storedThrough(feed, topic, stored, start);
        const { cursor, entries, maybeStored, counts } = planAppend(topic, old, start, events, now, through);

        // An entry can already be there when a refused cursor was reset within the same epoch:
        // keep it, with its read flag, rather than store it again. Only those that may be there
        // are looked up: a replay of thousands past the cursor costs no look-up each.
        const looked = [...maybeStored];
        if (looked.length > 0) await settleFirst();
        const present = await Promise.all(looked.map((entry) => feed.getKey(entry.id)));
        const there = new Set(looked.filter((_, i) => present[i] !== undefined));
        const fresh = there.size === 0 ? entries : entries.filter((entry) => !there.has(entry));
        const journaled = writeEntries(stores, fresh, pending);
        const writes: Promise<unknown>[] = [];
        const checkUpTo = cursor ? through(cursor.epoch) : 0;
        const next: StoredCursor | null = cursor && { topic, ...cursor, ...(checkUpTo > cursor.seq ? { checkUpTo } : {}) };
        if (next && (next.epoch !== stored?.epoch || next.seq !== stored.seq || next.checkUpTo !== stored.checkUpTo)) writes.push(issued(cursors.put(next)));
        const who = viewer();
        const unread = issued(countUnread(feed, who));
        await Promise.all(writes);
        // Entries in the journal are not in the index the count reads.
        const owners = ownersOf(who);
        const journalUnread = unreadInJournal(pending, owners) + (journaled ? fresh.filter((entry) => entry.unread && owners.includes(entry.owner)).length : 0);
        return { changed: fresh.map((entry) => entry.entry), unread: (await unread) + journalUnread, cursor, journaled, ...counts };
      });
    },

    settle: () => settle(db),

    async page(limit) {
      const who = viewer();
      const { newest, unread } = await readFeed(db, async (feed) => ({
        // The newest `limit` of each owner, merged: at most 2 × limit entries read.
        newest: await Promise.all(
          ownersOf(who).map(async (owner) => {
            const found: StoredEntry[] = [];
            const range = IDBKeyRange.bound([owner, -Infinity, -Infinity], [owner, Infinity, Infinity]);
            let cursor = limit > 0 ? await feed.index('by-owner-time').openCursor(range, 'prev') : null;
            while (cursor && found.length < limit) {
              found.push(cursor.value);
              cursor = found.length < limit ? await cursor.continue() : null;
            }
            return found;
          }),
        ),
        unread: await countUnread(feed, who),
      }));
      const entries = newest
        .flat()
        .sort((a, b) => b.at - a.at || b.order - a.order)
        .slice(0, limit)
        .map((stored) => stored.entry);
      return { entries, unread };
    },

    unread: () => readFeed(db, (feed) => countUnread(feed, viewer())),

    async markRead(ids) {
      return writeTransaction(await db.get(), ['feed', 'journal'], async (tx) => {
        const stores = feedStores(tx);
        await settleJournal(stores);
        const { feed } = stores;
        const who = viewer();
        const owners = new Set(ownersOf(who));
        const stored = await Promise.all([...new Set(ids)].map((id) => feed.get(id)));
        const visible = stored.filter((entry) => entry !== undefined && owners.has(entry.owner));
        const changed = await markStored(visible, (entry) => feed.put(entry));
        return { changed, unread: await countUnread(feed, who) };
      });
    },

    async markAllRead() {
      return writeTransaction(await db.get(), ['feed', 'journal'], async (tx) => {
        const stores = feedStores(tx);
        await settleJournal(stores);
        const { feed } = stores;
        const who = viewer();
        const changed = await markStored(await unreadEntries(feed, who), (entry) => feed.put(entry));
        return { changed, unread: await countUnread(feed, who) };
      });
    },
  };
}
