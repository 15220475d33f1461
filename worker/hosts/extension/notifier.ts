/**
 * The extension's notifier: shows an alert overlay in the focused tab, or a system notification
 * when no tab in front can show one, and hides it everywhere. The browser APIs come in as
 * `NotifierApis`, so tests drive it without a browser; `browserNotifierApis()` binds the real ones.
 */
import { browser } from 'wxt/browser';
import { toErrorData } from '../../../lib/errors';
import { isOverlayShown, type HideOverlayMessage, type ShowOverlayMessage } from '../../../lib/rpc/overlay-messages';
import type { Logger, Notifier } from '../../core/platform';

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

/** `NotifierApis` bound to this browser; call it when the host starts, not at import. */
export function browserNotifierApis(log: Logger): NotifierApis {
  return {
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
    log,
  };
}
