/**
 * The one interface every event log implements (memory, SQLite, and later Redis Streams): a durable,
 * ordered log per `stream` topic. Per topic, `seq` grows by exactly one per event and the first
 * event is 1; `epoch` names one life of the topic's log and changes whenever that log was lost or
 * reset, so a cursor `(epoch, seq)` from another life is never mistaken for a position in this one.
 * Retained events are always a contiguous run of seqs ending at the head: retention removes the
 * oldest, never one in the middle. Every method is async so a networked store fits the same shape.
 */
import type { NotificationData } from '../../lib/wire/notifications';
import type { StreamPosition } from '../../lib/wire/protocol';

/** One event as the log holds it. */
export interface StoredEvent {
  readonly topic: string;
  readonly epoch: string;
  readonly seq: number;
  /** Server time the event was appended (ms since the epoch). */
  readonly at: number;
  readonly data: NotificationData;
}

/** What `append` assigned to an event. */
export interface Appended {
  readonly topic: string;
  readonly epoch: string;
  readonly seq: number;
  readonly at: number;
}

/** A topic's log as it stands now. */
export interface TopicHead {
  readonly epoch: string;
  /** `seq` of the newest event; 0 before the first. */
  readonly seq: number;
  /** `seq` of the oldest event still held; `seq + 1` when none is held (empty, or all trimmed). */
  readonly firstSeq: number;
}

/** How much of each topic's log is kept; whichever limit bites first wins. */
export interface Retention {
  /** Most events kept per topic. Default 10000 (`RETENTION_EVENTS`). */
  readonly maxEvents: number;
  /** Events older than this are removed (ms). Default 30 days (`RETENTION_DAYS`). */
  readonly maxAgeMs: number;
}

export const DEFAULT_RETENTION: Retention = Object.freeze({ maxEvents: 10_000, maxAgeMs: 30 * 24 * 3600 * 1000 });

/** What a log tells its watchers, in the order it happened. */
export type LogChange =
  | { readonly type: 'event'; readonly event: StoredEvent }
  | { readonly type: 'reset'; readonly topic: string; readonly epoch: string };

export type LogWatcher = (change: LogChange) => void;

export interface EventLog {
  /** `'memory'`, `'sqlite'`, … for logs and metrics. */
  readonly kind: string;
  /**
   * Appends one event and resolves once it is durable in this store (for SQLite: fsynced, so it
   * survives `kill -9`). Watchers hear of it before the promise resolves, in `seq` order. Appends
   * made without waiting for each other get their seqs in the order they were called; a store may
   * commit them together, and then a failure rejects all of them and keeps none.
   */
  append(topic: string, data: NotificationData): Promise<Appended>;
  /**
   * As `append`, unless an append with `key` was made to this topic before (within the topic's age
   * retention): then nothing is appended and it resolves with where that one went. Shared stores
   * have it, so that several nodes (or a node and the one that took over from it) doing the same
   * work append its event once.
   */
  appendOnce?(topic: string, data: NotificationData, key: string): Promise<Appended>;
  /**
   * The topic's head. A topic never seen before gets its epoch now and keeps it, so a cursor taken
   * from an empty log stays valid for the events that follow.
   */
  head(topic: string): Promise<TopicHead>;
  /**
   * Up to `limit` events with `seq > after.seq`, in `seq` order; none when `after.epoch` is not the
   * topic's current epoch. Callers read a long replay in chunks by calling again from the last seq.
   */
  readAfter(topic: string, after: StreamPosition, limit: number): Promise<StoredEvent[]>;
  /** The newest `count` events, oldest first. */
  newest(topic: string, count: number): Promise<StoredEvent[]>;
  /** Forgets the topic's events and starts a new epoch at seq 0 (operators use it after data loss). */
  reset(topic: string): Promise<TopicHead>;
  /** Removes events past the age limit in every topic (the count limit applies on every append). Resolves with how many. */
  trim(): Promise<number>;
  /** Calls `watcher` for every append and reset from now on; returns the function that stops it. */
  watch(watcher: LogWatcher): () => void;
  /** Releases the store. Idempotent. */
  close(): Promise<void>;
  /**
   * Whether the store can be reached right now (`/healthz`), for a networked store; while it
   * cannot, calls reject with `StoreUnavailableError`. An embedded store leaves it out: always.
   */
  available?(): boolean;
}

/** Options every implementation takes. */
export interface EventLogOptions {
  /** Default `DEFAULT_RETENTION`. */
  readonly retention?: Partial<Retention>;
  /** Wall clock (ms) used for `at` and age retention. Default `Date.now`. */
  readonly now?: () => number;
  /** Makes a new epoch id. Default: 96 random bits, base64url. */
  readonly newEpoch?: () => string;
  /** Hears errors thrown by watchers (the append stands). Default `console.error`. */
  readonly onWatcherError?: (error: unknown) => void;
}

/** Fills in and checks retention limits. */
export function resolveRetention(input: Partial<Retention> = {}): Retention {
  const retention = { ...DEFAULT_RETENTION, ...input };
  if (!Number.isSafeInteger(retention.maxEvents) || retention.maxEvents < 1) {
    throw new RangeError(`Retention maxEvents must be a positive integer, got ${retention.maxEvents}`);
  }
  if (!(Number.isFinite(retention.maxAgeMs) && retention.maxAgeMs > 0)) {
    throw new RangeError(`Retention maxAgeMs must be a positive number, got ${retention.maxAgeMs}`);
  }
  return Object.freeze(retention);
}
