/**
 * The feed's journal. A replay after a long absence brings thousands of events at once; written as
 * one entry record each, the transaction costs a request, a structured clone and two index updates
 * per event before the cursor can move. Instead, an append of at least `JOURNAL_MIN_ENTRIES` new
 * entries writes them as ONE journal record, in the same transaction as the cursor: durable and
 * announced at once. The entries are moved into the `feed` store later, in a transaction of their
 * own, and before anything else reads or writes the feed: every feed transaction begins by moving
 * whatever journal records it finds (`settleJournal`). So a page, an unread count, "mark read" and
 * the next append's duplicate checks always see every entry in the `feed` store, as if there were
 * no journal; and since nothing touches the feed before the journal was moved, an entry in the
 * journal is never already in the feed (the append checked that when it wrote the record).
 */
import { unwrap, type IDBPObjectStore, type StoreNames } from 'idb';
import type { HubSchema, StoredEntry } from './db';

/** New entries in one append from which they are written as one journal record. */
export const JOURNAL_MIN_ENTRIES = 64;

type Store<Name extends StoreNames<HubSchema>> = IDBPObjectStore<HubSchema, ArrayLike<StoreNames<HubSchema>>, Name, 'readwrite'>;

/** The two stores of a transaction that writes the feed. */
export interface FeedStores {
  readonly feed: Store<'feed'>;
  readonly journal: Store<'journal'>;
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
 * Writes new entries (none of them in the feed) in the caller's transaction: as one journal record
 * when there are many, else each as its own record. Returns whether they went to the journal.
 */
export function writeEntries({ feed, journal }: FeedStores, entries: readonly StoredEntry[]): boolean {
  if (entries.length >= JOURNAL_MIN_ENTRIES) {
    unwrap(journal).add({ entries });
    return true;
  }
  const raw = unwrap(feed);
  for (const entry of entries) raw.put(entry);
  return false;
}

/** Whether journal records wait to be moved, read in a transaction that includes the journal. */
export async function journalPending(journal: Pick<IDBPObjectStore<HubSchema, ArrayLike<StoreNames<HubSchema>>, 'journal', IDBTransactionMode>, 'count'>): Promise<boolean> {
  return (await journal.count()) > 0;
}
