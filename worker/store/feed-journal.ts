/**
 * The feed's journal. A replay after a long absence brings thousands of events at once; written as
 * one entry record each, the transaction costs a request, a structured clone and two index updates
 * per event before the cursor can move (in Chromium about as long as the whole replay takes to
 * arrive). Instead, an append of at least `JOURNAL_MIN_ENTRIES` new entries writes them as ONE
 * journal record, in the same transaction as the cursor: durable and announced at once.
 *
 * The entries are moved into the `feed` store later (`settleJournal`), in one transaction: once the
 * stream has been quiet for a moment, or by the first transaction that reads the feed (a page, an
 * unread count, "mark read"), which moves whatever journal records it finds before it reads, so
 * every read sees every entry in the `feed` store as if there were no journal. Appends need not
 * wait for that: a replay's events are past the cursor, so they are never in the journal already,
 * and the unread count adds each record's share from its key (`JournalKey`). An append that must
 * look entries up (a gap marker, a cursor moved back, a new epoch) moves the journal first. So an
 * entry in the journal is never in the feed as well, and is moved exactly once.
 */
import { unwrap, type IDBPObjectStore, type StoreNames } from 'idb';
import type { HubSchema, JournalKey, StoredEntry } from './db';

/** New entries in one append from which they are written as one journal record. */
export const JOURNAL_MIN_ENTRIES = 64;

type Store<Name extends StoreNames<HubSchema>> = IDBPObjectStore<HubSchema, ArrayLike<StoreNames<HubSchema>>, Name, 'readwrite'>;

/** The two stores of a transaction that writes the feed. */
export interface FeedStores {
  readonly feed: Store<'feed'>;
  readonly journal: Store<'journal'>;
}

/** The keys of the journal records waiting to be moved, oldest first (no record is read). */
export function journalKeys(journal: Pick<IDBPObjectStore<HubSchema, ArrayLike<StoreNames<HubSchema>>, 'journal', IDBTransactionMode>, 'getAllKeys'>): Promise<JournalKey[]> {
  return journal.getAllKeys();
}

/** Unread entries of these owners waiting in the journal, from its keys. */
export function unreadInJournal(keys: readonly JournalKey[], owners: readonly string[]): number {
  return keys.reduce((sum, [, owner, unread]) => (owners.includes(owner) ? sum + unread : sum), 0);
}

/** Moves every journal record into the `feed` store, in the caller's transaction. */
export async function settleJournal({ feed, journal }: FeedStores): Promise<void> {
  const records = await journal.getAll();
  if (records.length === 0) return;
  // Requests run in the order issued and any failure aborts the transaction: no need to wait on each.
  const raw = unwrap(feed);
  for (const record of records) for (const entry of record.entries) raw.put(entry);
  await journal.clear();
}

/**
 * Writes new entries of one owner (none of them in the feed or the journal) in the caller's
 * transaction: as one journal record after `pending` when there are many, else each as its own
 * record. Returns whether they went to the journal.
 */
export function writeEntries({ feed, journal }: FeedStores, entries: readonly StoredEntry[], pending: readonly JournalKey[]): boolean {
  if (entries.length >= JOURNAL_MIN_ENTRIES) {
    const number = (pending.at(-1)?.[0] ?? 0) + 1;
    const unread = entries.filter((entry) => entry.unread).length;
    unwrap(journal).add({ key: [number, entries[0]!.owner, unread], entries });
    return true;
  }
  const raw = unwrap(feed);
  for (const entry of entries) raw.put(entry);
  return false;
}
