/**
 * The dashboard's way to the hub: `createHubClient` over a `MessagePort` to the hub worker (a
 * `SharedWorker`, or a dedicated `Worker` where there is none), so dashboard views get the same
 * `HubClient` as extension views. The tab holds a Web Lock named after a random id for as long
 * as the client is open and tells the hub that id on every port: the hub asks for the same lock
 * and is granted it only once this tab is gone, which is how it learns to release the tab's
 * subscriptions (a `MessagePort` has no close event).
 */
import { createHubClient, type HubClientOptions, type HubClient } from './hub-client';
import { tabLockName, type HubWorkerMessage } from './hub-worker-messages';
import { createMessagePortEndpoint } from './message-port-endpoint';

/** The part of `LockManager` used here. */
export interface TabLockManager {
  request(name: string, callback: () => Promise<void>): Promise<unknown>;
}

export interface ConnectSharedHubOptions extends HubClientOptions {
  /** Opens a new port to the hub worker: a `SharedWorker`'s `port`, or a channel to a dedicated `Worker`. */
  readonly openPort: () => MessagePort;
  /**
   * `navigator.locks`. Without it the hub cannot tell when this tab goes, and keeps its
   * subscriptions until the worker ends (when the last tab of the origin closes).
   */
  readonly locks?: TabLockManager;
  /** This tab's id, a `crypto.randomUUID()`. Default a fresh one. */
  readonly tabId?: string;
  /**
   * Reports whether the user is looking at this tab: calls `report` now and on every change, and
   * returns the function that stops. The hub shows alerts in the focused tab only.
   */
  readonly watchFocus?: (report: (focused: boolean) => void) => () => void;
  /** The hub asks this tab to show the alert overlay `id` (its text comes from `api.overlay(id)`). */
  readonly onOverlay?: (id: string) => void;
  /** The overlay `id` was dismissed or snoozed (here or in another tab): remove it. */
  readonly onOverlayHide?: (id: string) => void;
}

/**
 * Takes the tab's lock; resolves with the tab id once it is held (or `null` when it cannot be), and
 * gives back the function that lets the lock go.
 */
function holdTabLock(locks: TabLockManager | undefined, tab: string): { held: Promise<string | null>; release: () => void } {
  let release = (): void => {};
  if (!locks) return { held: Promise.resolve(null), release };
  const held = new Promise<string | null>((resolve) => {
    const letGo = new Promise<void>((done) => {
      release = done;
    });
    locks
      .request(tabLockName(tab), () => {
        resolve(tab);
        return letGo;
      })
      .catch(() => resolve(null));
  });
  return { held, release };
}

/** Connects a dashboard view to the hub worker and keeps it connected until `close()`. */
export function connectSharedHub(options: ConnectSharedHubOptions): HubClient {
  const lock = holdTabLock(options.locks, options.tabId ?? crypto.randomUUID());
  let focused = false;
  let current: MessagePort | null = null;
  const post = (port: MessagePort | null, message: HubWorkerMessage): void => port?.postMessage(message);

  const client = createHubClient((timeoutMs) => {
    const port = options.openPort();
    const endpoint = createMessagePortEndpoint(port, {
      timeoutMs,
      onControl(message) {
        if (message.type === 'switchboard:overlay') options.onOverlay?.(message.id);
        else if (message.type === 'switchboard:overlay-hide') options.onOverlayHide?.(message.id);
      },
    });
    current = port;
    endpoint.onClose(() => {
      if (current === port) current = null;
    });
    post(port, { type: 'switchboard:focus', focused });
    // Only once the lock is ours: asked for earlier, the hub would be granted it at once.
    void lock.held.then((tab) => {
      if (tab !== null && !endpoint.closed) post(port, { type: 'switchboard:tab', tab });
    });
    return endpoint;
  }, options);
  const unwatchFocus = options.watchFocus?.((now) => {
    focused = now;
    post(current, { type: 'switchboard:focus', focused });
  });
  return {
    ...client,
    close() {
      unwatchFocus?.();
      client.close();
      lock.release();
    },
  };
}
