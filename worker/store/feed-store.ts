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
import type { EventFrame, StreamPosition } from '../../lib/wire/protocol';
import { topicOwner } from '../../lib/wire/topics';
import { admit, startCursor, toGap, toNotification, toUnreadable, type StreamStart } from '../core/feed/cursor';
import type { AppendResult, FeedStore, Viewer } from '../core/feed/store';
import type { IDBPObjectStore, StoreNames } from 'idb';
import { writeTransaction, type HubDb, type HubSchema, type StoredEntry } from './db';

/**
 * A request issued without being awaited at once: if its transaction aborts, the failure reaches
 * the caller through `Promise.all` or `tx.done`, never as an unhandled rejection.
 */
function issued<T>(request: Promise<T>): Promise<T> {
  request.catch(() => {});
  return request;
}

function toStored(entry: FeedEntry, order: number): StoredEntry {
  const unread = entry.kind === 'notification' && !entry.read;
  return { id: entry.id, owner: topicOwner(entry.topic), at: entry.at, order, ...(unread ? { unread: 1 } : {}), entry };
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

/**
 * What a batch does to one topic, decided before anything is written: the cursor after it, the
 * entries to store (gap markers included) and what was skipped.
 */
interface AppendPlan {
  readonly cursor: StreamPosition | null;
  readonly entries: readonly StoredEntry[];
  readonly counts: Pick<AppendResult, 'duplicates' | 'otherEpoch' | 'early' | 'invalid' | 'jumps'>;
}

/** Applies `start`, then the cursor rules (`../core/feed/cursor.ts`) to each event in turn. */
function planAppend(
  topic: string,
  old: StreamPosition | null,
  start: StreamStart | null,
  events: readonly EventFrame[],
  now: number,
): AppendPlan {
  let cursor = old;
  const entries: StoredEntry[] = [];
  const counts = { duplicates: 0, otherEpoch: 0, early: 0, invalid: 0, jumps: 0 };
  /** Unreadable events in a row, stored as one marker once the run ends. */
  let unreadable: { readonly event: EventFrame; count: number } | null = null;
  const endUnreadable = (): void => {
    if (!unreadable) return;
    const { event, count } = unreadable;
    entries.push(toStored(toUnreadable(topic, event.epoch, event.seq, count, event.at), event.seq));
    unreadable = null;
  };

  if (start) {
    const started = startCursor(cursor, start);
    const at = events[0] ? events[0].at - 1 : now;
    if (started.gap) entries.push(toStored(toGap(topic, start.epoch, start.next, started.gap, at), start.next - 0.5));
    cursor = started.cursor;
  }
  for (const event of events) {
    const verdict = admit(cursor, event);
    if (verdict.k === 'duplicate') counts.duplicates++;
    else if (verdict.k === 'other epoch') counts.otherEpoch++;
    else if (verdict.k === 'no cursor') counts.early++;
    if (verdict.k !== 'next' && verdict.k !== 'jump') continue;
    if (verdict.k === 'jump') {
      endUnreadable();
      counts.jumps++;
      const gap = toGap(topic, event.epoch, event.seq, { reason: 'trimmed', missed: verdict.missed }, event.at - 1);
      entries.push(toStored(gap, event.seq - 0.5));
    }
    cursor = { epoch: event.epoch, seq: event.seq };
    const entry = toNotification(event);
    if (entry) {
      endUnreadable();
      entries.push(toStored(entry, event.seq));
    } else {
      counts.invalid++;
      if (unreadable) unreadable.count++;
      else unreadable = { event, count: 1 };
    }
  }
  endUnreadable();
  return { cursor, entries, counts };
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
      return writeTransaction(await db.get(), ['cursors', 'feed'], async (tx) => {
        const cursors = tx.objectStore('cursors');
        const feed = tx.objectStore('feed');
        const stored = await cursors.get(topic);
        const old: StreamPosition | null = stored ? { epoch: stored.epoch, seq: stored.seq } : null;
        const { cursor, entries, counts } = planAppend(topic, old, start, events, now);

        // An entry can already be there when a refused cursor was reset within the same epoch:
        // keep it, with its read flag, rather than store it again.
        const present = await Promise.all(entries.map((entry) => feed.getKey(entry.id)));
        const fresh = entries.filter((_, i) => present[i] === undefined);
        const writes: Promise<unknown>[] = fresh.map((entry) => issued(feed.put(entry)));
        if (cursor && (cursor.epoch !== old?.epoch || cursor.seq !== old.seq)) writes.push(issued(cursors.put({ topic, ...cursor })));
        const unread = issued(countUnread(feed, viewer()));
        await Promise.all(writes);
        return { changed: fresh.map((entry) => entry.entry), unread: await unread, cursor, ...counts };
      });
    },

    async page(limit) {
      const who = viewer();
      const tx = (await db.get()).transaction('feed', 'readonly');
      // The newest `limit` of each owner, merged: at most 2 × limit entries read.
      const newest = await Promise.all(
        ownersOf(who).map(async (owner) => {
          const found: StoredEntry[] = [];
          const range = IDBKeyRange.bound([owner, -Infinity, -Infinity], [owner, Infinity, Infinity]);
          let cursor = limit > 0 ? await tx.store.index('by-owner-time').openCursor(range, 'prev') : null;
          while (cursor && found.length < limit) {
            found.push(cursor.value);
            cursor = found.length < limit ? await cursor.continue() : null;
          }
          return found;
        }),
      );
      const unread = await countUnread(tx.store, who);
      await tx.done;
      const entries = newest
        .flat()
        .sort((a, b) => b.at - a.at || b.order - a.order)
        .slice(0, limit)
        .map((stored) => stored.entry);
      return { entries, unread };
    },

    async unread() {
      const tx = (await db.get()).transaction('feed', 'readonly');
      const unread = await countUnread(tx.store, viewer());
      await tx.done;
      return unread;
    },

    async markRead(ids) {
      return writeTransaction(await db.get(), ['feed'], async (tx) => {
        const feed = tx.objectStore('feed');
        const who = viewer();
        const owners = new Set(ownersOf(who));
        const stored = await Promise.all([...new Set(ids)].map((id) => feed.get(id)));
        const visible = stored.filter((entry) => entry !== undefined && owners.has(entry.owner));
        const changed = await markStored(visible, (entry) => feed.put(entry));
        return { changed, unread: await countUnread(feed, who) };
      });
    },

    async markAllRead() {
      return writeTransaction(await db.get(), ['feed'], async (tx) => {
        const feed = tx.objectStore('feed');
        const who = viewer();
        const changed = await markStored(await unreadEntries(feed, who), (entry) => feed.put(entry));
        return { changed, unread: await countUnread(feed, who) };
      });
    },
  };
}
