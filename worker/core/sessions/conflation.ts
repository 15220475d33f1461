/**
 * Per-view delivery with conflation. A view gets one batch at a time: while a delivery is in
 * flight, new items wait, and a waiting `state` update is replaced by a newer one for the same
 * topic (latest wins, in the order topics first appeared). A slow view therefore always gets the
 * latest values and never a backlog, and the memory one view can pin is bounded by its topics.
 * Feed updates are never dropped: a waiting one absorbs the next (`mergeFeedUpdates`). An alert
 * list is sent whole, so only the newest waiting one matters.
 * A delivery that rejects (a view that went away) is logged and the next batch goes anyway: one
 * dead view must not wedge the hub.
 */
import type { FeedUpdate, TopicUpdate } from '../../../lib/rpc/hub-api';
import type { FeedEntry } from '../../../lib/rpc/feed-entry';

export interface SinkOptions<T> {
  /**
   * Items with the same key are combined by `merge` while they wait; `undefined` means never.
   * Default: `state` updates by topic, feed updates together, alert lists together, anything else queued in order.
   */
  readonly key: (item: T) => string | undefined;
  /** Combines a waiting item with a newer one of the same key. Default: feed updates merge, anything else the newer wins. */
  readonly merge: (waiting: T, next: T) => T;
  /** `false` queues every item, the baseline the benchmark compares against. Default `true`. */
  readonly conflate: boolean;
  /** Called when a delivery throws or rejects. Default: ignore. */
  readonly onError: (error: unknown) => void;
  /** How the first item of a burst waits for the rest of it. Default `queueMicrotask`. */
  readonly schedule: (fn: () => void) => void;
}

export interface Sink<T> {
  push(item: T): void;
  /** Items waiting for the delivery in flight to finish. */
  readonly pending: number;
  /** Takes out and returns the items waiting (the delivery in flight, if any, goes on). */
  drain(): T[];
  /** Drops what is waiting and delivers nothing more. */
  close(): void;
}

/**
 * The default conflation key: `state` updates by topic, all feed updates under one key, all alert
 * lists under another (`feed` and `alerts` are never state topic names: those all contain a colon).
 */
export function updateKey(item: unknown): string | undefined {
  const update = item as TopicUpdate;
  switch (update.kind) {
    case 'state':
      return update.topic;
    case 'feed':
    case 'alerts':
      return update.kind;
    case 'error':
      return undefined;
  }
}

/**
 * One feed update saying what two consecutive ones said: the changed entries of both, each id
 * once with its latest version (in the place it first appeared), and the newer unread count.
 */
export function mergeFeedUpdates(older: FeedUpdate, newer: FeedUpdate): FeedUpdate {
  const byId = new Map<string, FeedEntry>();
  for (const entry of older.changed) byId.set(entry.id, entry);
  for (const entry of newer.changed) byId.set(entry.id, entry);
  return { kind: 'feed', changed: [...byId.values()], unread: newer.unread };
}

/** The default merge: feed updates combine, anything else (a state value, an alert list) the newer replaces the waiting one. */
export function mergeUpdates<T>(waiting: T, next: T): T {
  const a = waiting as TopicUpdate;
  const b = next as TopicUpdate;
  if (a.kind === 'feed' && b.kind === 'feed') return mergeFeedUpdates(a, b) as T;
  return next;
}

/**
 * Creates a sink that hands items to `deliver` in batches, one delivery at a time. Items pushed in
 * the same task go out together (a `batch` frame reaches a view as one batch).
 */
export function createConflatingSink<T = TopicUpdate>(
  deliver: (batch: readonly T[]) => Promise<void> | void,
  options: Readonly<Partial<SinkOptions<T>>> = {},
): Sink<T> {
  const key = options.key ?? updateKey;
  const merge = options.merge ?? mergeUpdates;
  const conflate = options.conflate ?? true;
  const onError = options.onError ?? (() => {});
  const schedule = options.schedule ?? queueMicrotask;
  // A Map keeps first-insertion order when a key is overwritten: exactly "latest value, first place".
  let waiting = new Map<string | number, T>();
  let unkeyed = 0;
  let busy = false;
  let closed = false;

  function flush(): void {
    if (closed || waiting.size === 0) {
      busy = false;
      return;
    }
    const batch = [...waiting.values()];
    waiting = new Map();
    let result: Promise<void> | void;
    try {
      result = deliver(batch);
    } catch (error) {
      result = Promise.reject(error);
    }
    Promise.resolve(result)
      .catch((error: unknown) => {
        try {
          onError(error);
        } catch {
          // A failing error reporter must not stop deliveries either.
        }
      })
      .then(flush);
  }

  return {
    push(item) {
      if (closed) return;
      const k = conflate ? key(item) : undefined;
      const earlier = k === undefined ? undefined : waiting.get(k);
      waiting.set(k ?? unkeyed++, earlier === undefined ? item : merge(earlier, item));
      if (busy) return;
      busy = true;
      schedule(flush);
    },
    get pending() {
      return waiting.size;
    },
    drain() {
      const items = [...waiting.values()];
      waiting = new Map();
      return items;
    },
    close() {
      closed = true;
      waiting.clear();
    },
  };
}
