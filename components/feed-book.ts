/**
 * The popup's copy of the feed: the hub's latest `FeedPage`, with the `FeedUpdate`s of update
 * batches folded in. Entries are matched by `id`, so an entry the hub sends again (a replay, a read
 * flag that changed) replaces its row instead of adding one. A notification only ever goes from
 * unread to read, so merging keeps `read` once either side has it, whatever order a snapshot and an
 * update arrive in.
 */
import type { FeedPage, TopicUpdate } from '../lib/rpc/hub-api';
import type { FeedEntry } from '../lib/rpc/feed-entry';

/** How many entries the popup asks for and keeps. */
export const FEED_PAGE_SIZE = 50;

export const EMPTY_FEED: FeedPage = { entries: [], unread: 0 };

/**
 * Newest first: by server time, then by `seq` (a gap marker, which stands for events before the
 * ones that follow it, sorts below notifications of the same time), then by `id` so the order is
 * total.
 */
export function compareNewestFirst(a: FeedEntry, b: FeedEntry): number {
  if (a.at !== b.at) return b.at - a.at;
  const seqA = a.kind === 'notification' ? a.seq : 0;
  const seqB = b.kind === 'notification' ? b.seq : 0;
  if (seqA !== seqB) return seqB - seqA;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function merged(previous: FeedEntry | undefined, next: FeedEntry): FeedEntry {
  if (previous?.kind === 'notification' && next.kind === 'notification' && previous.read && !next.read) {
    return { ...next, read: true };
  }
  return next;
}

/** `page` with `entries` put in by id, sorted newest first and cut to `limit`. */
export function mergeFeedEntries(page: FeedPage, entries: readonly FeedEntry[], unread: number, limit = FEED_PAGE_SIZE): FeedPage {
  const byId = new Map(page.entries.map((entry) => [entry.id, entry]));
  for (const entry of entries) byId.set(entry.id, merged(byId.get(entry.id), entry));
  return { entries: [...byId.values()].sort(compareNewestFirst).slice(0, limit), unread };
}

/** Returns a new page with the batch's feed updates applied, or `page` itself if the batch had none. */
export function applyFeedUpdates(page: FeedPage, batch: readonly TopicUpdate[], limit = FEED_PAGE_SIZE): FeedPage {
  let next = page;
  for (const update of batch) {
    if (update.kind === 'feed') next = mergeFeedEntries(next, update.changed, update.unread, limit);
  }
  return next;
}

/**
 * A fresh snapshot from `feed()` folded into what the view already holds: entries are put in by id
 * (a row stays read once it was read), so an update that overtook the snapshot on its way is not
 * lost. The unread count is the snapshot's.
 */
export function applyFeedSnapshot(page: FeedPage, snapshot: FeedPage, limit = FEED_PAGE_SIZE): FeedPage {
  return mergeFeedEntries(page, snapshot.entries, snapshot.unread, limit);
}
