/**
 * The view side of the hub RPC, over any link that can drop: one object whose calls keep working
 * across reconnects. `open` makes a Comlink endpoint to the hub (a `runtime.Port` to the extension
 * background in `./connect-hub`, a SharedWorker's `MessagePort` in `./connect-shared-hub`); the
 * client registers the view's listener there, and when the endpoint closes (the service worker
 * stopped, a call timed out) it opens a new one after a short backoff, then registers the listener
 * and the remembered subscriptions anew. Pending calls reject with `HubDisconnectedError` when their
 * endpoint drops, and `api` retries them as `HUB_API_METHODS` says (`./hub-calls`).
 *
 * Given a `requestFrame`, updates reach the view once per frame (`./frame-batcher`), and the hub
 * hears a batch was taken only when it was applied. `setVisible(false)` pauses the view's session
 * (the hub sends it next to nothing while it is hidden) and is remembered across reconnects.
 */
import * as Comlink from 'comlink';
import { backoffCeiling } from '../backoff';
import { HubDisconnectedError } from '../errors';
import { watchUser } from '../user-change';
import { parseTopic } from '../wire/topics';
import { createFrameBatcher } from './frame-batcher';
import { callHub, createHubCalls, isDisconnect, type CallLink, type HubClientApi } from './hub-calls';
import { HUB_API_METHODS, type HubApi, type HubListener, type HubStatus, type TopicUpdate } from './hub-api';
import type { PortEndpoint } from './runtime-port-endpoint';

export type { HubClientApi } from './hub-calls';

export interface HubClientOptions {
  /**
   * The hub's status. While the hub itself is out of reach (its service worker is restarting)
   * views get `{ s: 'connecting', attempt }` with `attempt ≥ 1`, which reads `Reconnecting…`.
   */
  readonly onStatus?: (status: HubStatus) => void;
  /** Updates of subscribed topics, in batches (one per frame with `requestFrame`). */
  readonly onUpdates?: (batch: readonly TopicUpdate[]) => void;
  /**
   * Calls back before the view's next paint (`requestAnimationFrame`, see
   * `components/page-frames.ts`). With it, every batch that arrives before that frame reaches
   * `onUpdates` in one call, and the hub holds (and conflates) what comes next until the frame ran.
   * Default: none, each batch goes to `onUpdates` at once.
   */
  readonly requestFrame?: (callback: () => void) => void;
  /** With `requestFrame`: the least time between two frames of updates, in ms. Default 0. */
  readonly minFrameIntervalMs?: number;
  /**
   * With `requestFrame` and a frame interval: the hub hears the batches waiting for a frame were
   * taken this many ms before it, so what comes meanwhile reaches the view in time. Default 0.
   */
  readonly ackBeforeFrameMs?: number;
  /**
   * Called each time the hub is reached: on the first connection and after every reconnect, once
   * the listener is registered. Updates sent while the view was cut off are not replayed, so this
   * is where a view reloads what it shows (e.g. `api.feed()`). Also called when the hub opens
   * for another user than before (another token was saved): what the view shows is the last
   * user's.
   */
  readonly onReady?: () => void;
  /**
   * Called when the hub opens for another user than it last did (another token was saved, or
   * someone else signed in), just before that status reaches `onStatus`: everything the view shows
   * is the last user's and must go. `onReady` follows, which loads the new user's.
   */
  readonly onUserChange?: () => void;
  /** Delay before the first reconnect, in ms; doubles per failed attempt. Default 100. */
  readonly retryDelayMs?: number;
  /** Longest delay between reconnects, in ms. Default 5 000. */
  readonly maxRetryDelayMs?: number;
  /** A call with no answer after this many ms rejects and the port is reopened. Default 15 000. */
  readonly callTimeoutMs?: number;
}

export interface HubClient {
  /** Calls that survive reconnects; `subscribe`/`unsubscribe` are the remembered ones below. */
  readonly api: HubClientApi;
  /** Subscribes and remembers the topics, so they are subscribed again after a reconnect. */
  subscribe(topics: readonly string[]): Promise<void>;
  /** Unsubscribes and forgets the topics. */
  unsubscribe(topics: readonly string[]): Promise<void>;
  /**
   * Says whether the view is shown: hidden, the hub pauses its session (`HubApi.pause`); shown
   * again, it resumes it. Remembered, and said again after a reconnect. Resolves once the hub heard
   * it (at once while the hub is out of reach).
   */
  setVisible(visible: boolean): Promise<void>;
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

/** Reconnect delay before attempt `attempt` (≥ 1): exponential from `base`, capped, without jitter. */
export function reconnectDelay(attempt: number, baseMs: number, capMs: number): number {
  return backoffCeiling(attempt - 1, { baseMs, capMs });
}

/**
 * Opens one link to the hub whose calls time out after `timeoutMs`; throws when the hub cannot be
 * reached right now (the client tries again with backoff).
 */
export type OpenHubEndpoint = (timeoutMs: number) => PortEndpoint;

/**
 * Calls waiting for the link to be ready: each resolves on the next ready link, or rejects after
 * `timeoutMs` or when the client closes.
 */
function createWaiters(timeoutMs: number) {
  const waiting = new Set<{ readonly resolve: (link: Link) => void; readonly reject: (error: Error) => void }>();
  return {
    wait: () =>
      new Promise<Link>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(waiter);
          reject(new HubDisconnectedError(`the hub did not come back within ${timeoutMs} ms`));
        }, timeoutMs);
        const settle = (): void => {
          clearTimeout(timer);
          waiting.delete(waiter);
        };
        const waiter = {
          resolve: (link: Link) => (settle(), resolve(link)),
          reject: (error: Error) => (settle(), reject(error)),
        };
        waiting.add(waiter);
      }),
    resolveAll: (link: Link) => [...waiting].forEach((waiter) => waiter.resolve(link)),
    rejectAll: (error: Error) => [...waiting].forEach((waiter) => waiter.reject(error)),
  };
}

/** Connects a view to the hub through `open` and keeps it connected until `close()`. */
export function createHubClient(open: OpenHubEndpoint, options: HubClientOptions): HubClient {
  const retryDelayMs = options.retryDelayMs ?? 100;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
  const callTimeoutMs = options.callTimeoutMs ?? 15_000;
  const subscribed = new Set<string>();
  const waiters = createWaiters(callTimeoutMs);
  let state: State = { s: 'closed' };
  let visible = true;
  const openUserChanged = watchUser();
  const onUpdates = (batch: readonly TopicUpdate[]): void => options.onUpdates?.(batch);
  const frames = options.requestFrame
    ? createFrameBatcher(onUpdates, {
        requestFrame: options.requestFrame,
        minIntervalMs: options.minFrameIntervalMs ?? 0,
        ackBeforeFrameMs: options.ackBeforeFrameMs ?? 0,
      })
    : null;

  /** Tells the view of a status, and first of another user's. Returns whether the user changed. */
  function report(status: HubStatus): boolean {
    const changed = status.s === 'open' && openUserChanged(status.user);
    if (changed) options.onUserChange?.();
    options.onStatus?.(status);
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
        if (report(status) && state.s === 'ready') options.onReady?.();
      },
      updates(batch) {
        if (linkOf(state) !== link) return;
        if (frames) return frames.push(batch);
        onUpdates(batch);
      },
    };
    link.remote.listen(Comlink.proxy(listener)).then(
      (status) => {
        if (linkOf(state) !== link) return;
        if (!link.heardStatus) report(status);
        state = { s: 'ready', link };
        // Sent before any waiting call, on the same port, so the order holds.
        if (subscribed.size > 0) link.remote.subscribe([...subscribed]).catch(() => {});
        if (!visible) link.remote.pause().catch(() => {});
        waiters.resolveAll(link);
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
  function ready(): Promise<CallLink> {
    const asCallLink = (link: Link): CallLink => ({
      remote: link.remote,
      drop: () => {
        if (linkOf(state) === link) link.endpoint.close();
      },
    });
    if (state.s === 'ready') return Promise.resolve(asCallLink(state.link));
    if (state.s === 'closed') return Promise.reject(new HubDisconnectedError('the hub connection is closed'));
    return waiters.wait().then(asCallLink);
  }

  async function subscribe(topics: readonly string[]): Promise<void> {
    const bad = topics.find((topic) => parseTopic(topic) === null);
    if (bad !== undefined) throw new TypeError(`Not a topic: ${JSON.stringify(bad)}`);
    const added = topics.filter((topic) => !subscribed.has(topic));
    for (const topic of added) subscribed.add(topic);
    try {
      await callHub(ready, (remote) => remote.subscribe([...topics]), HUB_API_METHODS.subscribe.retry);
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

  async function setVisible(next: boolean): Promise<void> {
    if (visible === next) return;
    visible = next;
    // Not connected: the next session is paused on connect if the view is still hidden.
    if (state.s !== 'ready') return;
    try {
      await (next ? state.link.remote.resume() : state.link.remote.pause());
    } catch (error) {
      if (!isDisconnect(error)) throw error;
    }
  }

  connect(0);

  return {
    api: createHubCalls(ready, { subscribe, unsubscribe }),
    subscribe,
    unsubscribe,
    setVisible,
    close() {
      frames?.close();
      const link = linkOf(state);
      if (state.s === 'waiting') clearTimeout(state.timer);
      state = { s: 'closed' };
      link?.endpoint.close();
      waiters.rejectAll(new HubDisconnectedError('the hub connection is closed'));
    },
  };
}
