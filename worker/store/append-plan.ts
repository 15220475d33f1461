/**
 * What one append does to a topic's feed, decided before anything is written (`planAppend`): the
 * cursor after it, the entries to store (gap and unreadable markers included), what was skipped,
 * and which entries may already be stored and must be looked up (`storedThrough`). The cursor rules
 * themselves are `../core/feed/cursor.ts`; the feed store applies the plan in its transaction.
 */
import type { FeedEntry } from '../../lib/rpc/feed-entry';
import type { EventFrame, StreamPosition } from '../../lib/wire/protocol';
import { topicOwner } from '../../lib/wire/topics';
import { admit, notificationIdPrefix, startCursor, toGap, toNotification, toUnreadable, type StreamStart } from '../core/feed/cursor';
import type { AppendResult } from '../core/feed/store';
import type { IDBPObjectStore, StoreNames } from 'idb';
import type { HubSchema, StoredCursor, StoredEntry } from './db';

export function toStored(entry: FeedEntry, order: number): StoredEntry {
  const unread = entry.kind === 'notification' && !entry.read;
  return { id: entry.id, owner: topicOwner(entry.topic), at: entry.at, order, ...(unread ? { unread: 1 } : {}), entry };
}

/**
 * What a batch does to one topic, decided before anything is written: the cursor after it, the
 * entries to store (gap markers included) and what was skipped.
 */
export interface AppendPlan {
  readonly cursor: StreamPosition | null;
  readonly entries: readonly StoredEntry[];
  /**
   * Of `entries`, those that may be stored already and must be looked up first (`storedThrough`):
   * gap markers, and events at or below what an earlier transaction may have stored.
   */
  readonly maybeStored: ReadonlySet<StoredEntry>;
  readonly counts: Pick<AppendResult, 'duplicates' | 'otherEpoch' | 'early' | 'invalid' | 'jumps'>;
}

/** Applies `start`, then the cursor rules (`../core/feed/cursor.ts`) to each event in turn. */
export function planAppend(
  topic: string,
  old: StreamPosition | null,
  start: StreamStart | null,
  events: readonly EventFrame[],
  now: number,
  storedThrough: (epoch: string) => number,
): AppendPlan {
  let cursor = old;
  const entries: StoredEntry[] = [];
  const maybeStored = new Set<StoredEntry>();
  const isNew = (event: EventFrame): boolean => event.seq > storedThrough(event.epoch);
  const counts = { duplicates: 0, otherEpoch: 0, early: 0, invalid: 0, jumps: 0 };
  /** Unreadable events in a row, stored as one marker once the run ends. */
  let unreadable: { readonly event: EventFrame; count: number } | null = null;
  const endUnreadable = (): void => {
    if (!unreadable) return;
    const { event, count } = unreadable;
    const marker = toStored(toUnreadable(topic, event.epoch, event.seq, count, event.at), event.seq);
    entries.push(marker);
    if (!isNew(event)) maybeStored.add(marker);
    unreadable = null;
  };

  if (start) {
    const started = startCursor(cursor, start);
    const at = events[0] ? events[0].at - 1 : now;
    if (started.gap) {
      const marker = toStored(toGap(topic, start.epoch, start.next, started.gap, at), start.next - 0.5);
      entries.push(marker);
      maybeStored.add(marker);
    }
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
      const gap = toStored(toGap(topic, event.epoch, event.seq, { reason: 'trimmed', missed: verdict.missed }, event.at - 1), event.seq - 0.5);
      entries.push(gap);
      maybeStored.add(gap);
    }
    cursor = { epoch: event.epoch, seq: event.seq };
    const entry = toNotification(event);
    if (entry) {
      endUnreadable();
      const stored = toStored(entry, event.seq);
      entries.push(stored);
      if (!isNew(event)) maybeStored.add(stored);
    } else {
      counts.invalid++;
      if (unreadable) unreadable.count++;
      else unreadable = { event, count: 1 };
    }
  }
  endUnreadable();
  return { cursor, entries, maybeStored, counts };
}

/**
 * For each epoch, the highest `seq` whose entry may already be stored. Entries and the cursor move
 * together, so up to the cursor in its own epoch, and no further, unless the cursor was moved back
 * (a refused cursor reset within the epoch: `checkUpTo` remembers how far entries reach until the
 * cursor passes it again) or a start moves it into an epoch the feed already holds entries of (a
 * server restored to an older log: then every seq of it).
 */
export async function storedThrough(
  feed: Pick<IDBPObjectStore<HubSchema, ArrayLike<StoreNames<HubSchema>>, 'feed', 'readwrite'>, 'getKey'>,
  topic: string,
  stored: StoredCursor | undefined,
  start: StreamStart | null,
): Promise<(epoch: string) => number> {
  const reach = new Map<string, number>();
  if (stored) reach.set(stored.epoch, Math.max(stored.seq, stored.checkUpTo ?? 0));
  if (start && stored?.epoch !== start.epoch) {
    const prefix = notificationIdPrefix(topic, start.epoch);
    const any = await feed.getKey(IDBKeyRange.bound(prefix, `${prefix}\uffff`));
    reach.set(start.epoch, any === undefined ? 0 : Infinity);
  }
  // Another epoch than these: nothing of it is stored by the cursor rules (admit drops it).
  return (epoch) => reach.get(epoch) ?? Infinity;
}

