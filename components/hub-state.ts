/**
 * What a view keeps of the hub, and how the hub's update batches fold into it: the feed page, the
 * latest price per symbol and the alert list.
 *
 * - Feed: the hub's latest `FeedPage`, with `FeedUpdate`s folded in. Entries are matched by `id`,
 *   so an entry the hub sends again (a replay, a read flag that changed) replaces its row instead
 *   of adding one. A notification only ever goes from unread to read, so merging keeps `read` once
 *   either side has it, whatever order a snapshot and an update arrive in.
 * - Prices: the latest valid tick per symbol. Values from the hub are `unknown` until
 *   `parsePriceTick` accepts them; anything else is dropped.
 * - Alerts: the hub sends the whole merged list (server state plus what the outbox still holds) on
 *   every change, so the latest `AlertsUpdate` of a batch simply replaces what the view shows.
 *
 * Everything from the hub arrives as new objects (it crossed a port), so each fold keeps the object
 * the view already holds wherever the data is the same: memoised rows then see the same props and
 * do not render again, and a batch that changes nothing returns the state it was given.
 */
import type { FeedEntry } from '../lib/rpc/feed-entry';
import type { AlertItem, FeedPage, TopicUpdate } from '../lib/rpc/hub-api';
import { parsePriceTick, type PriceTick } from '../lib/wire/prices';
import { parseTopic } from '../lib/wire/topics';
import { sameKeys } from './memo';

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

/**
 * True when `a` and `b` hold the same plain data (what crosses the hub's ports: objects, arrays,
 * strings, numbers, booleans, `null`). False for anything it cannot read, never a throw.
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  try {
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    return sameKeys(a, b, sameData);
  } catch {
    return false;
  }
}

/**
 * `next` with every alert whose data did not change replaced by the object `previous` held for it,
 * or `previous` itself when the lists are the same.
 */
export function keepUnchangedAlerts(previous: readonly AlertItem[], next: readonly AlertItem[]): readonly AlertItem[] {
  const held = new Map(previous.map((item) => [item.id, item]));
  const kept = next.map((item) => {
    const before = held.get(item.id);
    return before !== undefined && sameData(before, item) ? before : item;
  });
  return kept.length === previous.length && kept.every((item, i) => item === previous[i]) ? previous : kept;
}

/** The latest tick per symbol. */
export type PriceTicks = ReadonlyMap<string, PriceTick>;

/** Returns a new map with the batch's price ticks applied, or `prices` itself if none applied. */
export function applyPriceUpdates(prices: PriceTicks, batch: readonly TopicUpdate[]): PriceTicks {
  let next: Map<string, PriceTick> | null = null;
  for (const update of batch) {
    if (update.kind !== 'state' || parseTopic(update.topic)?.kind !== 'prices') continue;
    const tick = parsePriceTick(update.value);
    if (!tick || sameData((next ?? prices).get(tick.symbol), tick)) continue;
    next ??= new Map(prices);
    next.set(tick.symbol, tick);
  }
  return next ?? prices;
}

/** The alerts of the batch's last `AlertsUpdate`, or `null` if the batch had none. */
export function latestAlerts(batch: readonly TopicUpdate[]): readonly AlertItem[] | null {
  for (let i = batch.length - 1; i >= 0; i -= 1) {
    const update = batch[i]!;
    if (update.kind === 'alerts') return update.alerts;
  }
  return null;
}
