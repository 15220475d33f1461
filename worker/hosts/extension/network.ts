/**
 * The network monitor of the extension background: `navigator.onLine`, with its `online` /
 * `offline` events and a poll for the browsers that change it without firing them.
 */
import type { NetworkMonitor } from '../../core/platform';

/**
 * How often the host re-reads `navigator.onLine`. Chrome changes it in an extension service worker
 * but fires no `online`/`offline` event there (seen in Chromium 156, with the network emulated
 * offline through DevTools on the worker or on a page of the extension); without polling the hub
 * would stay `offline` after the network came back. Timers do not keep the worker alive.
 */
const ONLINE_POLL_MS = 1000;

export const backgroundNetwork: NetworkMonitor = {
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
