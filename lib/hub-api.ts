/**
 * The RPC surface between views and the hub, declared once. The hub exposes one `HubApi` per view
 * connection (so a view that goes away releases exactly its own subscriptions); views get a
 * `Remote<HubApi>` from `connectHub()`. Everything that crosses it is plain data that survives
 * Chrome's JSON message serialisation: no `Date`, `Map`, `undefined`-as-meaning or `BigInt`.
 */
import type { Settings } from './settings';
import type { Result } from './errors';
import type { FeedEntry } from './notifications';

/**
 * The hub's connection state as views see it. `retryAt` is a wall-clock time in ms
 * (`Date.now()` scale) so a view can count down by itself.
 */
export type HubStatus =
  | { readonly s: 'idle'; readonly reason: string }
  | { readonly s: 'connecting'; readonly attempt: number }
  | { readonly s: 'open'; readonly session: string; readonly user: string; readonly since: number }
  | { readonly s: 'waiting'; readonly attempt: number; readonly retryAt: number; readonly reason: string }
  | { readonly s: 'offline' }
  | { readonly s: 'closed'; readonly reason: string };

/** The latest value of a `state` topic, as delivered to a view. */
export interface StateUpdate {
  readonly kind: 'state';
  readonly topic: string;
  readonly value: unknown;
  readonly at: number;
}

/**
 * The server refused a subscription or reported a problem with a topic (e.g. `unknown-topic`,
 * `forbidden`). The hub's connection status does not change; the view may show `message`.
 */
export interface TopicErrorUpdate {
  readonly kind: 'error';
  readonly topic: string;
  /** The protocol's `ErrorCode`, e.g. `unknown-topic`. */
  readonly code: string;
  readonly message: string;
}

/**
 * The feed changed: `changed` holds new entries and entries whose `read` flag changed (match by
 * `id`); `unread` is the new total. Every listening view gets these, whatever it subscribed to.
 */
export interface FeedUpdate {
  readonly kind: 'feed';
  readonly changed: readonly FeedEntry[];
  readonly unread: number;
}

export type TopicUpdate = StateUpdate | TopicErrorUpdate | FeedUpdate;

/** The newest feed entries, newest first, and the unread count over the whole feed. */
export interface FeedPage {
  readonly entries: readonly FeedEntry[];
  readonly unread: number;
}

/**
 * Callbacks a view hands to the hub (as a Comlink proxy). The hub waits for `updates` to resolve
 * before sending that view more, and meanwhile conflates: a slow view gets the latest value of each
 * `state` topic, never a backlog.
 */
export interface HubListener {
  status(status: HubStatus): void | Promise<void>;
  updates(batch: readonly TopicUpdate[]): void | Promise<void>;
}

export interface HubApi {
  /** Registers this view's listener (replacing an earlier one) and returns the current status. */
  listen(listener: HubListener): Promise<HubStatus>;
  /** Adds topics to this view's subscriptions; cached `state` values are delivered at once. Throws on an unknown topic name. */
  subscribe(topics: readonly string[]): Promise<void>;
  /** Removes topics from this view's subscriptions. */
  unsubscribe(topics: readonly string[]): Promise<void>;
  status(): Promise<HubStatus>;
  /** The newest `limit` (default 50, at most 500) feed entries and the unread count. */
  feed(limit?: number): Promise<FeedPage>;
  /** Marks notifications read; every open view hears of it at once. Unknown ids are ignored. */
  markRead(ids: readonly string[]): Promise<void>;
  markAllRead(): Promise<void>;
  getSettings(): Promise<Settings>;
  /** Validates, stores and applies settings at once (the hub reconnects to the new server). */
  saveSettings(settings: Settings): Promise<Result<Settings>>;
}

/** Name of the `runtime.Port` a view opens to reach the hub. */
export const HUB_PORT_NAME = 'switchboard-hub';
