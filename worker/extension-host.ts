/**
 * The extension's background host (Chrome MV3 service worker, Firefox MV2 background page). It
 * gives the hub core its ports (WebSocket, timers, network, settings in `storage.local`, the
 * extension's IndexedDB, the toolbar badge) and serves
 * one `HubSession` per view port. Chrome may stop the service worker at any time; everything the
 * hub needs is re-created here on the next start, which comes from a view reconnecting or from the
 * wake alarm.
 */
import * as Comlink from 'comlink';
import { browser } from 'wxt/browser';
import { toErrorData } from '../lib/errors';
import { HUB_PORT_NAME, type HubApi } from '../lib/hub-api';
import { createPipeRegistry } from '../lib/pipe-registry';
import { createPortEndpoint, type RuntimePortLike } from '../lib/port-endpoint';
import { DEFAULT_SETTINGS, parseSettings, type Settings } from '../lib/settings';
import { openHub, type Hub, type HubSession } from './hub';
import { systemClock, type Badge, type HubPorts, type Logger, type NetworkMonitor, type SettingsStore, type SocketLike } from './ports';

/** The `storage.local` key that holds the user's `Settings`. */
export const SETTINGS_KEY = 'settings';
/** Wakes a stopped service worker every 30 s (Chrome's shortest period), which reopens the hub. */
const WAKE_ALARM = 'switchboard-wake';
const WAKE_PERIOD_MINUTES = 0.5;

const settingsStore: SettingsStore = {
  async load() {
    const stored = await browser.storage.local.get(SETTINGS_KEY);
    const parsed = parseSettings(stored[SETTINGS_KEY]);
    return parsed.ok ? parsed.value : DEFAULT_SETTINGS;
  },
  async save(settings: Settings) {
    await browser.storage.local.set({ [SETTINGS_KEY]: settings });
  },
};

/**
 * How often the host re-reads `navigator.onLine`. Chrome changes it in an extension service worker
 * but fires no `online`/`offline` event there (seen in Chromium 156, with the network emulated
 * offline through DevTools on the worker or on a page of the extension); without polling the hub
 * would stay `offline` after the network came back. Timers do not keep the worker alive.
 */
const ONLINE_POLL_MS = 1000;

const network: NetworkMonitor = {
  isOnline: () => navigator.onLine,
  onChange(callback) {
    let online = navigator.onLine;
    const check = (): void => {
      if (navigator.onLine === online) return;
      online = navigator.onLine;
      callback(online);
    };
    globalThis.addEventListener('online', check);
    globalThis.addEventListener('offline', check);
    const timer = setInterval(check, ONLINE_POLL_MS);
    return () => {
      clearInterval(timer);
      globalThis.removeEventListener('online', check);
      globalThis.removeEventListener('offline', check);
    };
  },
};

const log: Logger = {
  info: (message, data) => console.info(`[hub] ${message}`, data ?? ''),
  warn: (message, data) => console.warn(`[hub] ${message}`, data ?? ''),
};

const openSocket = (url: string): SocketLike => new WebSocket(url);

/** Badge text above this count reads `99+`: the toolbar has room for about four characters. */
const BADGE_MAX = 99;
const BADGE_COLOUR = '#1a73e8';

/** `''` (no badge) for 0, the count up to 99, then `99+`. */
export function badgeText(unread: number): string {
  if (!(unread > 0)) return '';
  return unread > BADGE_MAX ? `${BADGE_MAX}+` : String(Math.floor(unread));
}

/**
 * The unread count on the toolbar button: `browser.action` in Chrome MV3, `browser.browserAction`
 * in the Firefox MV2 build (which has no `action`). Badge calls need no permission.
 */
function createToolbarBadge(): Badge | undefined {
  const action = browser.action ?? browser.browserAction;
  if (!action) return undefined;
  let coloured = false;
  return {
    setUnread(count) {
      if (!coloured) {
        coloured = true;
        void action.setBadgeBackgroundColor({ color: BADGE_COLOUR }).catch(() => {});
      }
      void action.setBadgeText({ text: badgeText(count) }).catch((error: unknown) => {
        log.warn('could not set the badge', { error: toErrorData(error) });
      });
    },
  };
}

const hubPorts: HubPorts = {
  openSocket,
  clock: systemClock,
  random: Math.random,
  network,
  settings: settingsStore,
  indexedDB: globalThis.indexedDB,
  badge: createToolbarBadge(),
  log,
};

/** Only the `HubApi` methods of a session go over RPC, not `close` or anything else on the object. */
function rpcSurface(session: HubSession): HubApi {
  return {
    listen: (listener) => session.listen(listener),
    subscribe: (topics) => session.subscribe(topics),
    unsubscribe: (topics) => session.unsubscribe(topics),
    status: () => session.status(),
    feed: (limit) => session.feed(limit),
    markRead: (ids) => session.markRead(ids),
    markAllRead: () => session.markAllRead(),
    getSettings: () => session.getSettings(),
    saveSettings: (settings) => session.saveSettings(settings),
  };
}

/**
 * Starts the host. Call it synchronously when the background starts: Chrome only delivers the
 * event that woke a service worker to listeners registered in its first turn.
 */
export function startExtensionHost(): void {
  const pipes = createPipeRegistry();
  let hub: Promise<Hub> | null = null;

  /** The hub, opened once; a failed open is retried by the next caller. */
  function getHub(): Promise<Hub> {
    hub ??= openHub(hubPorts).catch((error: unknown) => {
      log.warn('could not open the hub', { error: toErrorData(error) });
      hub = null;
      throw error;
    });
    return hub;
  }

  function serve(port: RuntimePortLike): void {
    const endpoint = createPortEndpoint(port, { pipes: pipes.pipes });
    // The endpoint keeps the view's first calls until the hub is open and `expose` listens.
    getHub().then(
      (opened) => {
        if (endpoint.closed) return;
        const session = opened.openSession();
        endpoint.onClose(() => session.close());
        Comlink.expose(rpcSurface(session), endpoint);
      },
      // The view reconnects with backoff, and that retries opening the hub.
      () => endpoint.close(),
    );
  }

  browser.runtime.onConnect.addListener((port) => {
    // Other extensions and web pages never reach the hub (and they cannot name our id).
    if (port.sender?.id !== browser.runtime.id) {
      port.disconnect();
      return;
    }
    if (pipes.accept(port)) return;
    if (port.name === HUB_PORT_NAME) serve(port);
  });

  browser.storage.onChanged.addListener((changes, area) => {
    const change = changes[SETTINGS_KEY];
    if (area !== 'local' || !change) return;
    const parsed = parseSettings(change.newValue ?? DEFAULT_SETTINGS);
    if (parsed.ok) void getHub().then((opened) => opened.configure(parsed.value), () => {});
  });

  browser.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name === WAKE_ALARM) void getHub().catch(() => {});
  });
  void browser.alarms.get(WAKE_ALARM).then((alarm) => {
    if (!alarm) void browser.alarms.create(WAKE_ALARM, { periodInMinutes: WAKE_PERIOD_MINUTES });
  });

  // The hub connects as soon as the background starts, views or not.
  void getHub().catch(() => {});
}
