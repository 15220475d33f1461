/**
 * What the feed keeps: the store the streams write received events to (with their topic's cursor,
 * in one transaction) and the feed reads pages and unread counts from, and what a committed change
 * reports. Declared here, beside the feed, and implemented on IndexedDB by `worker/store/feed-store.ts`.
 */
import type { FeedPage } from '../../../lib/rpc/hub-api';
import type { FeedEntry } from '../../../lib/rpc/feed-entry';
import type { EventFrame, StreamPosition } from '../../../lib/wire/protocol';
import type { StreamStart } from './cursor';

/** What a committed change did to the feed: new or re-flagged entries and the unread total. */
export interface FeedChange {
  readonly changed: readonly FeedEntry[];
  readonly unread: number;
}

export interface AppendResult extends FeedChange {
  /** The topic's cursor after the transaction. */
  readonly cursor: StreamPosition | null;
  /** Events at or before the cursor: replays of stored ones, skipped. */
  readonly duplicates: number;
  /** Events of another epoch than the cursor's, not stored. */
  readonly otherEpoch: number;
  /** Events that came before the subscription started (no cursor), not stored. */
  readonly early: number;
  /** Events whose data is not a notification: stored as an `unreadable` marker, and the cursor passed them. */
  readonly invalid: number;
  /** Gaps the server did not announce, each stored as a gap marker. */
  readonly jumps: number;
  /** The new entries were written as one journal record: `settle()` moves them where reads look. */
  readonly journaled: boolean;
}

/** The user whose feed is shown (`null`: nobody signed in, only everyone's entries). */
export type Viewer = () => string | null;

export interface FeedStore {
  cursor(topic: string): Promise<StreamPosition | null>;
  /**
   * In one transaction: applies `start` (the subscription's start; may store a gap marker and
   * move the cursor), then stores each event that is next after the cursor and advances it.
   * `now` dates a gap marker no event follows.
   */
  append(topic: string, start: StreamStart | null, events: readonly EventFrame[], now: number): Promise<AppendResult>;
  /**
   * Moves entries a large append wrote as one record (`journaled`) to where they are read from, in
   * a transaction of its own. Every read of the feed does it first anyway; calling it once a
   * replay is stored keeps that cost off the next read.
   */
  settle(): Promise<void>;
  /** The viewer's newest `limit` entries, newest first, and their unread count. */
  page(limit: number): Promise<FeedPage>;
  unread(): Promise<number>;
  /** Marks these notifications read; `changed` holds those that were unread. Unknown ids, and other users' entries, are ignored. */
  markRead(ids: readonly string[]): Promise<FeedChange>;
  markAllRead(): Promise<FeedChange>;
}
