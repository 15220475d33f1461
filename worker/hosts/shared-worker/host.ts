/**
 * The dashboard's host: the hub core in a `SharedWorker`, so every dashboard tab of an origin shares
 * one hub and one WebSocket. Its platform: the browser's WebSocket, timers, `Math.random`,
 * `navigator.onLine` with the worker's `online`/`offline` events, the worker's own IndexedDB for the
 * hub's cursors, feed and outbox, and the settings in the dashboard origin's IndexedDB with the
 * server URL fixed to that origin. No toolbar badge (tabs put the unread count in their title); the
 * notifier shows an alert as a banner in the dashboard tab that has the user's focus.
 *
 * Where a browser has no `SharedWorker`, a tab runs the same script as a dedicated `Worker` and
 * sends it the port to serve in a `connect` message; that hub is the tab's alone.
 */
import { parseHubWorkerMessage } from '../../../lib/rpc/hub-worker-messages';
import type { HubApi } from '../../../lib/rpc/hub-api';
import { createMessagePortServer, createTabNotifier, type MessagePortServer, type ViewMessagePort } from './message-port-server';
import { hubOpener, type HubSession } from '../../core/hub';
import { createIdbSettingsStore } from './settings-store';
import { consoleLog, systemClock, type HubPlatform, type NetworkMonitor } from '../../core/platform';
import { rpcSurface } from '../../core/sessions/rpc-surface';
import { createTabSessions, type LockRequester } from './tab-sessions';

/** An event a worker global scope delivers: `connect` (SharedWorker) or `message` (dedicated). */
interface ScopeEvent {
  readonly data?: unknown;
  readonly ports?: readonly MessagePort[];
}

/**
 * The parts of `SharedWorkerGlobalScope` / `DedicatedWorkerGlobalScope` the host uses, declared here
 * because the project type-checks against the DOM library, not the WebWorker one.
 */
export interface HubWorkerScope {
  readonly location: { readonly origin: string };
  readonly indexedDB: IDBFactory;
  readonly navigator: { readonly onLine: boolean; readonly locks?: LockRequester };
  addEventListener(type: 'connect' | 'message' | 'online' | 'offline', listener: (event: ScopeEvent) => void): void;
  removeEventListener(type: 'online' | 'offline', listener: (event: ScopeEvent) => void): void;
}

function networkOf(scope: HubWorkerScope): NetworkMonitor {
  return {
    isOnline: () => scope.navigator.onLine,
    onChange(callback) {
      const online = (): void => callback(true);
      const offline = (): void => callback(false);
      scope.addEventListener('online', online);
      scope.addEventListener('offline', offline);
      return () => {
        scope.removeEventListener('online', online);
        scope.removeEventListener('offline', offline);
      };
    },
  };
}

/** The hub's platform in this worker; the server is the origin the dashboard was served from. */
export function createWorkerPlatform(scope: HubWorkerScope): HubPlatform {
  return {
    openSocket: (url) => new WebSocket(url),
    clock: systemClock,
    random: Math.random,
    network: networkOf(scope),
    settings: createIdbSettingsStore({ factory: scope.indexedDB, serverUrl: scope.location.origin }),
    indexedDB: scope.indexedDB,
    log: consoleLog,
    // Called unbound, so not the method itself: `fetch` throws when its `this` is not a global.
    // No deliveryHook: a SharedWorker lives as long as a page holds it, deliveries need not keep it alive.
    fetch: (url, init) => fetch(url, init),
  };
}

/**
 * `rpcSurface`, except that `saveSettings` always keeps the server URL on the worker's origin: the
 * dashboard talks to the server that served it, whatever a view sends.
 */
export function dashboardSurface(session: HubSession, origin: string): HubApi {
  const surface = rpcSurface(session);
  return {
    ...surface,
    saveSettings: (settings) =>
      surface.saveSettings(typeof settings === 'object' && settings !== null ? { ...settings, serverUrl: origin } : settings),
  };
}

/** Starts the host; call it once, synchronously, from the worker's entry script. */
export function startHubWorkerHost(scope: HubWorkerScope): void {
  const origin = scope.location.origin;
  let server: MessagePortServer | null = null;
  const platform: HubPlatform = {
    ...createWorkerPlatform(scope),
    notifier: createTabNotifier({ focused: () => server?.focused() ?? null, broadcast: (message) => server?.broadcast(message) }),
  };
  const getHub = hubOpener(platform);
  const portServer = createMessagePortServer({
    hub: getHub,
    tabs: createTabSessions({ locks: scope.navigator.locks, log: consoleLog }),
    surface: (session) => dashboardSurface(session, origin),
    log: consoleLog,
  });
  server = portServer;
  const serve = (port: MessagePort | undefined): void => {
    if (port) portServer.serve(port as ViewMessagePort);
  };

  scope.addEventListener('connect', (event) => serve(event.ports?.[0]));
  scope.addEventListener('message', (event) => {
    if (parseHubWorkerMessage(event.data)?.type === 'switchboard:connect') serve(event.ports?.[0]);
  });
  // The hub connects as soon as the first tab starts the worker.
  void getHub().catch(() => {});
}
