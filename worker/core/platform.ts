/**
 * What a host hands the hub core. The core never touches `browser.*`, `self`, `indexedDB` or
 * timers directly, so the same code runs in a Chrome service worker, a Firefox background page, a
 * SharedWorker and Node tests.
 */
import type { OverlayItem, TransportName } from '../../lib/rpc/hub-api';
import type { Settings } from '../../lib/rpc/settings';

/**
 * Handler properties are checked bivariantly (as method parameters are), so the browser's
 * `WebSocket`, whose handlers take DOM events, fits without a cast.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The subset of the WebSocket API the hub uses; the browser's `WebSocket` and `ws` both fit. */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  /** Which transport this is, when the factory knows (the status line names it). Default: a WebSocket. */
  readonly transport?: TransportName;
}

export type SocketFactory = (url: string) => SocketLike;

export type TimerHandle = unknown;

export interface Clock {
  /** Wall-clock milliseconds (`Date.now()` scale). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface NetworkMonitor {
  isOnline(): boolean;
  /** Calls back on every online/offline change; returns the unsubscribe function. */
  onChange(callback: (online: boolean) => void): () => void;
}

export interface SettingsStore {
  load(): Promise<Settings>;
  save(settings: Settings): Promise<void>;
}

export interface Logger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
}

/** The toolbar badge (extension) or nothing (SharedWorker: the page title can show it instead). */
export interface Badge {
  setUnread(count: number): void;
}

/**
 * Where alerts are shown. The host picks the focused tab of the focused window and shows an
 * overlay there, or a system notification when no normal web tab is in front.
 */
export interface Notifier {
  show(item: OverlayItem, options: { readonly systemNotifications: boolean }): void;
  /** Removes the overlay (and system notification) with this id everywhere. */
  hide(id: string): void;
}

/** Everything a host hands `openHub`: the platform the hub core runs on. */
export interface HubPlatform {
  readonly openSocket: SocketFactory;
  readonly clock: Clock;
  /** Uniform in [0, 1); injected so backoff jitter is deterministic in tests. */
  readonly random: () => number;
  readonly network: NetworkMonitor;
  readonly settings: SettingsStore;
  /** Where the hub keeps cursors and the feed: the host's `indexedDB`, or fake-indexeddb in tests. */
  readonly indexedDB: IDBFactory;
  readonly badge?: Badge;
  readonly notifier?: Notifier;
  readonly log?: Logger;
  /**
   * The host's `fetch`, for the HTTP transports the hub steps down to when WebSocket is blocked
   * (README "HTTP transports"). Without it the hub only ever uses `openSocket`.
   */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /**
   * Called on each delivery over an HTTP transport. The Chrome MV3 host makes one cheap extension
   * API call here: data arriving on a `fetch` does not keep its service worker alive, an extension
   * API call does (docs/mv3-keepalive.md). Default: nothing.
   */
  readonly deliveryHook?: () => void;
}

/** Platform parts backed by the globals every host has (timers, `Math.random`, `Date`). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Logs to the console with a `[hub]` prefix, as every browser host does. */
export const consoleLog: Logger = {
  info: (message, data) => console.info(`[hub] ${message}`, data ?? ''),
  warn: (message, data) => console.warn(`[hub] ${message}`, data ?? ''),
};
