/**
 * The extension's background host (Chrome MV3 service worker, Firefox MV2 background page). It
 * gives the hub core its platform (WebSocket, timers, network, settings in `storage.local`, the
 * extension's IndexedDB, the toolbar badge, the notifier that shows alert overlays in the focused
 * tab or as system notifications) and serves one `HubSession` per view port. Chrome may stop the
 * service worker at any time; everything the hub needs is re-created here on the next start, which
 * comes from a view reconnecting or from the wake alarm.
 */
import * as Comlink from 'comlink';
import { browser } from 'wxt/browser';
import { toErrorData } from '../../../lib/errors';
import { HUB_PORT_NAME } from '../../../lib/rpc/hub-api';
import { isOverlayShown, parseOverlayMessage, type HideOverlayMessage, type ShowOverlayMessage } from '../../../lib/rpc/overlay-messages';
import { createPipeAcceptor } from './pipe-acceptor';
import { createPortEndpoint, type RuntimePortLike } from '../../../lib/rpc/runtime-port-endpoint';
import { DEFAULT_SETTINGS, parseSettings, type Settings } from '../../../lib/rpc/settings';
import { hubOpener } from '../../core/hub';
import { rpcSurface } from '../../core/sessions/rpc-surface';
import {
  consoleLog,
  systemClock,
  type Badge,
  type HubPlatform,
  type Logger,
  type NetworkMonitor,
  type Notifier,
  type SettingsStore,
  type SocketLike,
} from '../../core/platform';

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
        consoleLog.warn('could not set the badge', { error: toErrorData(error) });
      });
    },
  };
}

/** The browser APIs the notifier uses, as a seam for tests. */
export interface NotifierApis {
  readonly tabs: {
    query(query: { active?: boolean; lastFocusedWindow?: boolean }): Promise<readonly { readonly id?: number }[]>;
    sendMessage(tabId: number, message: ShowOverlayMessage | HideOverlayMessage): Promise<unknown>;
  };
  /** Absent where the browser has no notifications API; then an alert with no tab in front is only in the feed. */
  readonly notifications?: {
    create(id: string, options: { type: 'basic'; iconUrl: string; title: string; message: string }): Promise<unknown>;
    clear(id: string): Promise<unknown>;
  };
  /** The system notification's icon (Chrome requires one). */
  readonly iconUrl: string;
  readonly log: Logger;
}

/**
 * Shows an alert once, in the focused tab of the focused window: `tabs.query` for the active tab
 * of the last focused window (ids need no `tabs` permission), then a message to the overlay
 * content script there, which answers once its frame is mounted. No answer — the tab shows a page
 * content scripts cannot run in (`chrome://`, the new tab page, another extension, the Web Store),
 * or it loaded before the extension — means no overlay, and a system notification instead when the
 * user allows them. `hide` tells every tab (a snoozed overlay may come back in another one) and
 * clears the system notification.
 *
 * A `hide` that overtakes a `show` still on its way (the user dismissed the overlay elsewhere) wins:
 * each call takes a generation number, and a show that finds a newer one undoes what it did.
 */
export function createExtensionNotifier(apis: NotifierApis): Notifier {
  const { tabs, notifications, log } = apis;
  let counter = 0;
  /** The latest show of each overlay id still showing; `hide` forgets it. */
  const generations = new Map<string, number>();
  const current = (id: string, generation: number): boolean => generations.get(id) === generation;
  const hideIn = (tabId: number, id: string): Promise<unknown> =>
    tabs.sendMessage(tabId, { type: 'switchboard:overlay-hide', id }).catch(() => undefined);

  async function showInFocusedTab(id: string): Promise<number | null> {
    const [tab] = await tabs.query({ active: true, lastFocusedWindow: true });
    if (tab?.id === undefined) return null;
    try {
      return isOverlayShown(await tabs.sendMessage(tab.id, { type: 'switchboard:overlay', id })) ? tab.id : null;
    } catch {
      return null; // No content script in that tab.
    }
  }

  return {
    show(item, { systemNotifications }) {
      counter += 1;
      const generation = counter;
      generations.set(item.id, generation);
      void (async () => {
        const tabId = await showInFocusedTab(item.id);
        if (!current(item.id, generation)) {
          if (tabId !== null) await hideIn(tabId, item.id);
          return;
        }
        if (tabId !== null || !systemNotifications || !notifications) return;
        await notifications.create(item.id, { type: 'basic', iconUrl: apis.iconUrl, title: item.title, message: item.body || item.title });
        if (!current(item.id, generation)) await notifications.clear(item.id);
      })().catch((error: unknown) => log.warn('could not show an alert', { id: item.id, error: toErrorData(error) }));
    },
    hide(id) {
      generations.delete(id);
      void (async () => {
        const everyTab = await tabs.query({});
        await Promise.all([
          ...everyTab.flatMap((tab) => (tab.id === undefined ? [] : [hideIn(tab.id, id)])),
          notifications?.clear(id).catch(() => undefined),
        ]);
      })().catch((error: unknown) => log.warn('could not hide an alert', { id, error: toErrorData(error) }));
    },
  };
}

/** The hub's platform in this background; made when the host starts, so importing this module touches no browser API. */
function createExtensionPlatform(): HubPlatform {
  const notifier = createExtensionNotifier({
    tabs: {
      query: (query) => browser.tabs.query(query),
      sendMessage: (tabId, message) => browser.tabs.sendMessage(tabId, message),
    },
    ...(browser.notifications
      ? {
          notifications: {
            create: (id, options) => browser.notifications.create(id, options),
            clear: (id) => browser.notifications.clear(id),
          },
        }
      : {}),
    iconUrl: browser.runtime.getURL('/icon/128.png'),
    log: consoleLog,
  });
  return {
    openSocket,
    clock: systemClock,
    random: Math.random,
    network,
    settings: settingsStore,
    indexedDB: globalThis.indexedDB,
    badge: createToolbarBadge(),
    notifier,
    log: consoleLog,
  };
}

/**
 * Starts the host. Call it synchronously when the background starts: Chrome only delivers the
 * event that woke a service worker to listeners registered in its first turn.
 */
export function startExtensionHost(): void {
  const pipes = createPipeAcceptor();
  const platform = createExtensionPlatform();
  const getHub = hubOpener(platform);

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

  /** Dismisses an overlay through a short-lived session, as a view would. */
  function dismiss(id: string): void {
    void getHub()
      .then(async (opened) => {
        const session = opened.openSession();
        try {
          await session.dismissOverlay(id);
        } finally {
          session.close();
        }
      })
      .catch((error: unknown) => consoleLog.warn('could not dismiss an alert', { id, error: toErrorData(error) }));
  }

  // A click on a system notification means it was seen: dismiss it everywhere (which also marks its
  // feed entries read) and open the popup where the browser allows it without a toolbar click.
  browser.notifications?.onClicked.addListener((id) => {
    dismiss(id);
    const action = browser.action ?? browser.browserAction;
    void action?.openPopup?.().catch(() => {});
  });
  browser.notifications?.onClosed.addListener((id, byUser) => {
    if (byUser) dismiss(id);
  });

  // The overlay page found nothing to show (dismissed meanwhile): remove its frame from its tab.
  browser.runtime.onMessage.addListener((message: unknown, sender) => {
    const parsed = parseOverlayMessage(message);
    if (parsed?.type !== 'switchboard:overlay-gone' || sender.id !== browser.runtime.id) return;
    const tabId = sender.tab?.id;
    if (tabId !== undefined) void browser.tabs.sendMessage(tabId, { type: 'switchboard:overlay-hide', id: parsed.id }).catch(() => {});
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
