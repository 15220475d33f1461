/**
 * The extension's background host (Chrome MV3 service worker, Firefox MV2 background page): the
 * wiring. It gives the hub core its platform (WebSocket, timers, the network monitor, settings and
 * the hub's data in the extension's IndexedDB, the toolbar badge, the notifier), serves one
 * `HubSession` per port of an extension page (`./callers`: content scripts get none), and turns
 * the browser's events (a system notification clicked, an overlay frame with nothing to show, the
 * wake alarm) into hub calls. Chrome may stop the service worker at any time; everything the hub
 * needs is re-created here on the next start, which comes from a view reconnecting or from the wake
 * alarm.
 */
import * as Comlink from 'comlink';
import { browser } from 'wxt/browser';
import { toErrorData } from '../../../lib/errors';
import { filterCalls } from '../../../lib/rpc/call-filter';
import { HUB_METHOD_NAMES, HUB_PORT_NAME } from '../../../lib/rpc/hub-api';
import { parseOverlayMessage } from '../../../lib/rpc/overlay-messages';
import { createPortEndpoint, type RuntimePortLike } from '../../../lib/rpc/runtime-port-endpoint';
import { hubOpener } from '../../core/hub';
import { consoleLog, systemClock, type HubPlatform, type SocketLike } from '../../core/platform';
import { rpcSurface } from '../../core/sessions/rpc-surface';
import { createToolbarBadge } from './badge';
import { isExtensionPage, type OwnExtension } from './callers';
import { backgroundNetwork } from './network';
import { browserNotifierApis, createExtensionNotifier } from './notifier';
import { createPipeAcceptor } from './pipe-acceptor';
import { createExtensionSettings } from './settings';

/** Wakes a stopped service worker every 30 s (Chrome's shortest period), which reopens the hub. */
const WAKE_ALARM = 'switchboard-wake';
const WAKE_PERIOD_MINUTES = 0.5;

const openSocket = (url: string): SocketLike => new WebSocket(url);

/** The hub's platform in this background; made when the host starts, so importing this module touches no browser API. */
function createExtensionPlatform(): HubPlatform {
  return {
    openSocket,
    clock: systemClock,
    random: Math.random,
    network: backgroundNetwork,
    settings: createExtensionSettings({ factory: globalThis.indexedDB, legacy: browser.storage.local, log: consoleLog }),
    indexedDB: globalThis.indexedDB,
    badge: createToolbarBadge(),
    notifier: createExtensionNotifier(browserNotifierApis(consoleLog)),
    log: consoleLog,
    fetch: (url, init) => fetch(url, init),
    deliveryHook: keepAlive,
  };
}

const KEEP_ALIVE_EVERY_MS = 5000;
let lastKeepAlive = 0;

/**
 * A cheap extension API call on deliveries over an HTTP transport: Chrome stops an MV3 service
 * worker 30 s after its last extension event whatever arrives on a `fetch`, and an extension API
 * call counts as activity (measured: docs/mv3-keepalive.md). Firefox's background page needs none,
 * and the call costs it nothing.
 */
function keepAlive(): void {
  // At most one call per KEEP_ALIVE_EVERY_MS: a busy price stream delivers hundreds of frames a
  // second, and one call well inside the 30 s window keeps the worker as well as one per frame.
  const now = Date.now();
  if (now - lastKeepAlive < KEEP_ALIVE_EVERY_MS) return;
  lastKeepAlive = now;
  void browser.runtime.getPlatformInfo().catch(() => {});
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
        Comlink.expose(rpcSurface(session), filterCalls(endpoint, HUB_METHOD_NAMES));
      },
      // The view reconnects with backoff, and that retries opening the hub.
      () => endpoint.close(),
    );
  }

  const own: OwnExtension = { id: browser.runtime.id, baseUrl: browser.runtime.getURL('/') };
  browser.runtime.onConnect.addListener((port) => {
    // Only the extension's own pages reach the hub: not its content scripts, other extensions or web pages.
    if (!isExtensionPage(port.sender, own)) {
      port.disconnect();
      return;
    }
    if (pipes.accept(port)) return;
    if (port.name === HUB_PORT_NAME) serve(port);
    else port.disconnect();
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
    if (parsed?.type !== 'switchboard:overlay-gone' || !isExtensionPage(sender, own)) return;
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
