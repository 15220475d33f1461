/**
 * The view side of the hub RPC, over any link that can drop: one object whose calls keep working
 * across reconnects. `open` makes a Comlink endpoint to the hub (a `runtime.Port` to the extension
 * background in `./connect-hub`, a SharedWorker's `MessagePort` in `./connect-shared-hub`); the
 * client registers the view's listener there, and when the endpoint closes (the service worker
 * stopped, a call timed out) it opens a new one after a short backoff, then registers the listener
 * and the remembered subscriptions anew. Pending calls reject with `HubDisconnectedError` when their
 * endpoint drops; `api` retries such a call once on the next connection when doing it twice does no
 * harm — every call except `createAlert` and `deleteAlert`. Those may have been queued by the hub
 * before the link dropped, so a retry could create a second alert or queue a delete the server would
 * refuse; they reject instead and the view lets the user look at the list and decide.
 */
import * as Comlink from 'comlink';
import { HubDisconnectedError, toErrorData, type Result } from '../errors';
import type { AlertItem, FeedPage, HubApi, HubListener, HubStatus, OverlayItem, TopicUpdate } from './hub-api';
import { parseTopic } from '../wire/topics';
import type { Settings } from './settings';
import type { PortEndpoint } from './runtime-port-endpoint';

export interface HubClientOptions {
  /**
   * The hub's status. While the hub itself is out of reach (its service worker is restarting)
   * views get `{ s: 'connecting', attempt }` with `attempt ≥ 1`, which reads `Reconnecting…`.
   */
  readonly onStatus?: (status: HubStatus) => void;
  /** Updates of subscribed topics, in batches. */
  readonly onUpdates?: (batch: readonly TopicUpdate[]) => void;
  /**
   * Called each time the hub is reached: on the first connection and after every reconnect, once
   * the listener is registered. Updates sent while the view was cut off are not replayed, so this
   * is where a view reloads what it shows (e.g. `api.feed()`). Also called when the hub opens
   * for another user than before (another token was saved): what the view shows is the last
   * user's.
   */
  readonly onReady?: () => void;
  /** Delay before the first reconnect, in ms; doubles per failed attempt. Default 100. */
  readonly retryDelayMs?: number;
  /** Longest delay between reconnects, in ms. Default 5 000. */
  readonly maxRetryDelayMs?: number;
  /** A call with no answer after this many ms rejects and the port is reopened. Default 15 000. */
  readonly callTimeoutMs?: number;
}

/** The hub calls a view makes; `listen` is the client's own business. */
export type HubClientApi = Omit<HubApi, 'listen'>;

export interface HubConnection {
  /** Calls that survive reconnects; `subscribe`/`unsubscribe` are the remembered ones below. */
  readonly api: HubClientApi;
  /** Subscribes and remembers the topics, so they are subscribed again after a reconnect. */
  subscribe(topics: readonly string[]): Promise<void>;
  /** Unsubscribes and forgets the topics. */
  unsubscribe(topics: readonly string[]): Promise<void>;
  /** Closes the port for good; later calls reject. */
  close(): void;
}

interface Link {
  readonly endpoint: PortEndpoint;
  readonly remote: Comlink.Remote<HubApi>;
  /** Whether a status callback arrived, which is newer than what `listen` returned. */
  heardStatus: boolean;
}

type State =
  | { readonly s: 'connecting'; readonly attempt: number; readonly link: Link }
  | { readonly s: 'ready'; readonly link: Link }
  | { readonly s: 'waiting'; readonly attempt: number; readonly timer: ReturnType<typeof setTimeout> }
  | { readonly s: 'closed' };

interface Waiter {
  readonly resolve: (link: Link) => void;
  readonly reject: (error: Error) => void;
}

const isDisconnect = (error: unknown): boolean => error instanceof Error && error.name === 'HubDisconnectedError';

/** Reconnect delay before attempt `attempt` (≥ 1): exponential from `base`, capped. */
export function reconnectDelay(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * Opens one link to the hub whose calls time out after `timeoutMs`; throws when the hub cannot be
 * reached right now (the client tries again with backoff).
 */
export type OpenHubEndpoint = (timeoutMs: number) => PortEndpoint;

/** Connects a view to the hub through `open` and keeps it connected until `close()`. */
export function createHubClient(open: OpenHubEndpoint, options: HubClientOptions): HubConnection {
  const retryDelayMs = options.retryDelayMs ?? 100;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
  const callTimeoutMs = options.callTimeoutMs ?? 15_000;
  const subscribed = new Set<string>();
  const waiters = new Set<Waiter>();
  let state: State = { s: 'closed' };
  /** The user of the last `open` status seen. */
  let openUser: string | undefined;

  /** Notes the user of an `open` status; true when it differs from an earlier one. */
  function userChanged(status: HubStatus): boolean {
    if (status.s !== 'open') return false;
    const changed = openUser !== undefined && openUser !== status.user;
    openUser = status.user;
    return changed;
  }

  const linkOf = (s: State): Link | null => (s.s === 'connecting' || s.s === 'ready' ? s.link : null);

  function connect(attempt: number): void {
    let endpoint: PortEndpoint;
    try {
      endpoint = open(callTimeoutMs);
    } catch {
      // E.g. the extension was reloaded under this view: keep trying, a new one may come.
      retry(attempt + 1);
      return;
    }
    const link: Link = { endpoint, remote: Comlink.wrap<HubApi>(endpoint), heardStatus: false };
    state = { s: 'connecting', attempt, link };
    endpoint.onClose(() => {
      if (linkOf(state) === link) retry(state.s === 'ready' ? 1 : attempt + 1);
    });

    const listener: HubListener = {
      status(status) {
        if (linkOf(state) !== link) return;
        link.heardStatus = true;
        options.onStatus?.(status);
        if (userChanged(status) && state.s === 'ready') options.onReady?.();
      },
      updates(batch) {
        if (linkOf(state) === link) options.onUpdates?.(batch);
      },
    };
    link.remote.listen(Comlink.proxy(listener)).then(
      (status) => {
        if (linkOf(state) !== link) return;
        if (!link.heardStatus) {
          options.onStatus?.(status);
          userChanged(status);
        }
        state = { s: 'ready', link };
        // Sent before any waiting call, on the same port, so the order holds.
        if (subscribed.size > 0) link.remote.subscribe([...subscribed]).catch(() => {});
        for (const waiter of [...waiters]) waiter.resolve(link);
        waiters.clear();
        options.onReady?.();
      },
      () => {
        // A timeout leaves the port open: drop it, which reconnects. A disconnect already did.
        if (linkOf(state) === link) endpoint.close();
      },
    );
  }

  function retry(attempt: number): void {
    options.onStatus?.({ s: 'connecting', attempt });
    const timer = setTimeout(() => connect(attempt), reconnectDelay(attempt, retryDelayMs, maxRetryDelayMs));
    state = { s: 'waiting', attempt, timer };
  }

  /** The ready link, now or after the next (re)connect. */
  function ready(): Promise<Link> {
    if (state.s === 'ready') return Promise.resolve(state.link);
    if (state.s === 'closed') return Promise.reject(new HubDisconnectedError('the hub connection is closed'));
    return new Promise<Link>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new HubDisconnectedError(`the hub did not come back within ${callTimeoutMs} ms`));
      }, callTimeoutMs);
      const waiter: Waiter = {
        resolve: (link) => {
          clearTimeout(timer);
          resolve(link);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      waiters.add(waiter);
    });
  }

  /** Runs `run` on the ready link; after a disconnect, once more on the next link if `retry`. */
  async function call<T>(run: (remote: Comlink.Remote<HubApi>) => Promise<T>, retry = true): Promise<T> {
    for (let tries = 0; ; tries += 1) {
      const link = await ready();
      try {
        return await run(link.remote);
      } catch (error) {
        if (!isDisconnect(error)) throw error;
        if (linkOf(state) === link) link.endpoint.close();
        if (tries >= 1 || !retry) throw new HubDisconnectedError(toErrorData(error).message);
      }
    }
  }

  const api: HubClientApi = {
    subscribe: (topics) => subscribe(topics),
    unsubscribe: (topics) => unsubscribe(topics),
    status: () => call<HubStatus>((remote) => remote.status()),
    feed: (limit) => call<FeedPage>((remote) => remote.feed(limit)),
    markRead: (ids) => call<void>((remote) => remote.markRead([...ids])),
    markAllRead: () => call<void>((remote) => remote.markAllRead()),
    alerts: () => call<readonly AlertItem[]>((remote) => remote.alerts()),
    createAlert: (rule) => call<Result<{ readonly id: string }>>((remote) => remote.createAlert(rule), false),
    pauseAlert: (id, paused) => call<Result<null>>((remote) => remote.pauseAlert(id, paused)),
    deleteAlert: (id) => call<Result<null>>((remote) => remote.deleteAlert(id), false),
    overlay: (id) => call<OverlayItem | null>((remote) => remote.overlay(id)),
    dismissOverlay: (id, snoozeMinutes) => call<void>((remote) => remote.dismissOverlay(id, snoozeMinutes)),
    getSettings: () => call((remote) => remote.getSettings()),
    saveSettings: (settings) => call<Result<Settings>>((remote) => remote.saveSettings(settings)),
  };

  async function subscribe(topics: readonly string[]): Promise<void> {
    const bad = topics.find((topic) => parseTopic(topic) === null);
    if (bad !== undefined) throw new TypeError(`Not a topic: ${JSON.stringify(bad)}`);
    const added = topics.filter((topic) => !subscribed.has(topic));
    for (const topic of added) subscribed.add(topic);
    try {
      await call((remote) => remote.subscribe([...topics]));
    } catch (error) {
      // Cut off by a restart: the remembered topics are sent again on the next connection.
      if (isDisconnect(error) && state.s !== 'closed') return;
      for (const topic of added) subscribed.delete(topic);
      throw error;
    }
  }

  async function unsubscribe(topics: readonly string[]): Promise<void> {
    for (const topic of topics) subscribed.delete(topic);
    // Not connected: the next session starts without them anyway.
    if (state.s !== 'ready') return;
    try {
      await state.link.remote.unsubscribe([...topics]);
    } catch (error) {
      if (!isDisconnect(error)) throw error;
    }
  }

  connect(0);

  return {
    api,
    subscribe,
    unsubscribe,
    close() {
      const link = linkOf(state);
      if (state.s === 'waiting') clearTimeout(state.timer);
      state = { s: 'closed' };
      link?.endpoint.close();
      for (const waiter of [...waiters]) waiter.reject(new HubDisconnectedError('the hub connection is closed'));
      waiters.clear();
    },
  };
}
