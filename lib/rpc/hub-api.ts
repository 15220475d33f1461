/**
 * The RPC surface between views and the hub, declared once. The hub exposes one `HubApi` per view
 * session (so a view that goes away releases exactly its own subscriptions); views get a
 * `Remote<HubApi>` from `connectHub()`. Everything that crosses it is plain data that survives
 * Chrome's JSON message serialisation: no `Date`, `Map`, `undefined`-as-meaning or `BigInt`.
 */
import type { Settings } from './settings';
import type { Result } from '../errors';
import type { NotificationLevel } from '../wire/notifications';
import type { FeedEntry } from '../rpc/feed-entry';
import type { AlertRule } from '../wire/alerts';

/**
 * The hub's connection state as views see it. `retryAt` is a wall-clock time in ms
 * (`Date.now()` scale) so a view can count down by itself.
 */
/** How the hub reaches the server: its WebSocket, or one of the HTTP fallbacks (README "HTTP transports"). */
export type TransportName = 'websocket' | 'streaming' | 'long polling';
/** The HTTP fallbacks alone. */
export type HttpTransportName = Exclude<TransportName, 'websocket'>;

export type HubStatus =
  | { readonly s: 'idle'; readonly reason: string }
  | { readonly s: 'connecting'; readonly attempt: number }
  /** `transport`: set when the connection is not the WebSocket (`Connected (streaming)`). */
  | { readonly s: 'open'; readonly session: string; readonly user: string; readonly since: number; readonly transport?: TransportName }
  | { readonly s: 'waiting'; readonly attempt: number; readonly retryAt: number; readonly reason: string }
  | { readonly s: 'offline' }
  /** `code`: the server's close code when it refused the connection (4001 version, 4003 origin, 4010/4011 token). */
  | { readonly s: 'closed'; readonly reason: string; readonly code?: number };

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

/**
 * An alert as the user sees it: the server's view merged with what the outbox still holds.
 * `pending sync`: queued, not yet acknowledged; `failed`: the server refused it (`reason` says why)
 * and it no longer blocks the queue.
 */
export type AlertItemState = 'pending sync' | 'active' | 'paused' | 'fired' | 'expired' | 'failed';

export interface AlertItem {
  readonly id: string;
  readonly rule: AlertRule;
  readonly state: AlertItemState;
  readonly reason?: string;
  readonly firedAt?: number;
  readonly firedPrice?: number;
}

/** The whole alert list changed (it is small: sent whole, newest first). */
export interface AlertsUpdate {
  readonly kind: 'alerts';
  readonly alerts: readonly AlertItem[];
}

export type TopicUpdate = StateUpdate | TopicErrorUpdate | FeedUpdate | AlertsUpdate;

/**
 * What an alert overlay shows. The page's content script only ever learns the `id`; the overlay's
 * own extension-origin frame fetches the text with `overlay(id)`, so page scripts never see it.
 * `summary` stands for several alerts that fired while the user was away.
 */
export interface OverlayItem {
  readonly id: string;
  readonly kind: 'alert' | 'notification' | 'summary';
  readonly title: string;
  readonly body: string;
  readonly level: NotificationLevel;
  readonly at: number;
  /** Feed entry ids this overlay stands for (one, or several for a summary). */
  readonly entryIds: readonly string[];
}

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
  /**
   * The view is hidden (a background tab, a popup page not shown): until `resume`, the hub sends it
   * no state values, alert lists, feed entries or statuses, and drops what was waiting for it. Only
   * the feed's unread count still comes when it changes (as a `FeedUpdate` with no entries), since a
   * tab's title shows it. Subscriptions stay, and the hub keeps caching their latest values.
   */
  pause(): Promise<void>;
  /**
   * The view is shown again: the current status and the cached latest value of every `state` topic
   * it holds come at once. What it missed of the feed and the alerts it reloads itself (`feed()`,
   * `alerts()`).
   */
  resume(): Promise<void>;
  status(): Promise<HubStatus>;
  /** The newest `limit` (default 50, at most 500) feed entries and the unread count. */
  feed(limit?: number): Promise<FeedPage>;
  /** Marks notifications read; every open view hears of it at once. Unknown ids are ignored. */
  markRead(ids: readonly string[]): Promise<void>;
  markAllRead(): Promise<void>;
  /** Every alert, newest first. */
  alerts(): Promise<readonly AlertItem[]>;
  /** Validates the rule (the same checks as the server) and queues its creation in the outbox. */
  createAlert(rule: unknown): Promise<Result<{ readonly id: string }>>;
  /** Queues a pause or resume. */
  pauseAlert(id: string, paused: boolean): Promise<Result<null>>;
  /** Queues a deletion; a failed (refused) alert is simply removed. */
  deleteAlert(id: string): Promise<Result<null>>;
  /** The overlay's text, or `null` once it was dismissed (or never existed). */
  overlay(id: string): Promise<OverlayItem | null>;
  /** Dismisses (or snoozes for `snoozeMinutes`) an overlay everywhere it is shown. */
  dismissOverlay(id: string, snoozeMinutes?: number): Promise<void>;
  getSettings(): Promise<Settings>;
  /** Validates, stores and applies settings at once (the hub reconnects to the new server). */
  saveSettings(settings: Settings): Promise<Result<Settings>>;
}

/**
 * Every `HubApi` method, once, with the view client's retry policy: `retry` when calling it a second
 * time after the link dropped mid-call does no harm. `createAlert` and `deleteAlert` may already
 * have been queued by the hub before the link dropped, so a retry could create a second alert or
 * queue a delete the server would refuse; they reject instead and the view lets the user decide.
 * The host's RPC surface, the client's calls and their retries all derive from this table, and the
 * type makes a method missing here (or listed but not in `HubApi`) a compile error.
 */
export const HUB_API_METHODS = {
  listen: { retry: true },
  subscribe: { retry: true },
  unsubscribe: { retry: true },
  pause: { retry: true },
  resume: { retry: true },
  status: { retry: true },
  feed: { retry: true },
  markRead: { retry: true },
  markAllRead: { retry: true },
  alerts: { retry: true },
  createAlert: { retry: false },
  pauseAlert: { retry: true },
  deleteAlert: { retry: false },
  overlay: { retry: true },
  dismissOverlay: { retry: true },
  getSettings: { retry: true },
  saveSettings: { retry: true },
} as const satisfies Record<keyof HubApi, { readonly retry: boolean }>;

export type HubMethod = keyof typeof HUB_API_METHODS;

/** The method names of `HubApi`, in table order. */
export const HUB_METHOD_NAMES = Object.keys(HUB_API_METHODS) as readonly HubMethod[];

/** Name of the `runtime.Port` a view opens to reach the hub. */
export const HUB_PORT_NAME = 'switchboard-hub';
