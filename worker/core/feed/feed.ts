/**
 * The feed as views see it: pages of stored entries, mark one / all read, and the `FeedUpdate`s
 * that every listening view receives after each committed change, whatever topics it holds. The
 * unread count goes to the badge with every change. Nothing is announced before its transaction
 * committed, so a view never shows what a crash could take back.
 */
import type { FeedPage, FeedUpdate } from '../../../lib/rpc/hub-api';
import type { FeedChange, FeedStore } from './store';
import type { Badge, Logger } from '../platform';

/** Entries `page()` returns when no limit is given. */
export const DEFAULT_FEED_PAGE = 50;
/** Most entries one `page()` returns. */
export const MAX_FEED_PAGE = 500;
/** Most ids one `markRead()` accepts. */
export const MAX_MARK_READ = 1000;

export interface Feed {
  /** The newest `limit` (default 50, at most 500) entries and the unread count. Throws a TypeError on a bad limit. */
  page(limit?: unknown): Promise<FeedPage>;
  /** Marks notifications read and announces the change. Throws a TypeError unless given an array of strings. */
  markRead(ids: unknown): Promise<void>;
  markAllRead(): Promise<void>;
  /** Calls back with every `FeedUpdate`; returns the unsubscribe function. */
  watch(listener: (update: FeedUpdate) => void): () => void;
  /** Announces a committed change to every watcher and the badge (no-op when nothing changed). */
  publish(change: FeedChange): void;
  /** Sets the badge from the stored unread count (at start, after a browser restart). */
  refreshBadge(): Promise<void>;
}

export interface FeedDeps {
  readonly store: FeedStore;
  readonly badge?: Badge;
  readonly log: Logger;
}

function parseLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_FEED_PAGE;
  if (typeof limit !== 'number' || !Number.isFinite(limit)) throw new TypeError(`Not a page size: ${String(limit)}`);
  return Math.min(MAX_FEED_PAGE, Math.max(0, Math.floor(limit)));
}

function parseIds(ids: unknown): string[] {
  if (!Array.isArray(ids) || !ids.every((id): id is string => typeof id === 'string')) {
    throw new TypeError('Expected an array of notification ids');
  }
  if (ids.length > MAX_MARK_READ) throw new TypeError(`At most ${MAX_MARK_READ} ids at once`);
  return ids;
}

export function createFeed(deps: FeedDeps): Feed {
  const { store, log } = deps;
  const watchers = new Set<(update: FeedUpdate) => void>();

  function setBadge(unread: number): void {
    try {
      deps.badge?.setUnread(unread);
    } catch (error) {
      log.warn('could not set the badge', { error: String(error) });
    }
  }

  const feed: Feed = {
    async page(limit) {
      return store.page(parseLimit(limit));
    },
    async markRead(ids) {
      feed.publish(await store.markRead(parseIds(ids)));
    },
    async markAllRead() {
      feed.publish(await store.markAllRead());
    },
    watch(listener) {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
    publish(change) {
      if (change.changed.length === 0) return;
      setBadge(change.unread);
      const update: FeedUpdate = { kind: 'feed', changed: change.changed, unread: change.unread };
      for (const watcher of [...watchers]) {
        try {
          watcher(update);
        } catch (error) {
          // One view's failure must not keep the update from the others.
          log.warn('feed delivery to a view failed', { error: String(error) });
        }
      }
    },
    async refreshBadge() {
      try {
        setBadge(await store.unread());
      } catch (error) {
        log.warn('could not read the unread count', { error: String(error) });
      }
    },
  };
  return feed;
}
