/**
 * The few messages a dashboard tab and the hub worker exchange on a hub port besides Comlink's own
 * (the worker's call filter, `./call-filter`, keeps them from Comlink's `expose`, so both share the
 * port):
 *
 * - `connect` (dedicated Worker only) hands the worker the port to serve, as a SharedWorker's
 *   `connect` event would;
 * - `tab` names the Web Lock the tab holds for its whole life: when the worker is granted that lock
 *   the tab is gone (closed, reloaded, navigated away), since a `MessagePort` has no close event;
 * - `bye` ends this port's session at once (the view closed its client or is reconnecting);
 * - `focus` says whether the tab is the one the user is looking at (visible and focused);
 * - `overlay` (worker → tab) asks the focused tab to show the alert overlay `id` as a banner (the
 *   tab fetches its text with `overlay(id)`), and `overlay-hide` has every tab remove it.
 */

export type HubWorkerMessage =
  | { readonly type: 'switchboard:connect' }
  | { readonly type: 'switchboard:tab'; readonly tab: string }
  | { readonly type: 'switchboard:bye' }
  | { readonly type: 'switchboard:focus'; readonly focused: boolean }
  | { readonly type: 'switchboard:overlay'; readonly id: string }
  | { readonly type: 'switchboard:overlay-hide'; readonly id: string };

/** Overlay ids are made by the hub; anything longer is not one. */
const MAX_ID_LENGTH = 200;

/** A tab id is a `crypto.randomUUID()`; anything else is refused so lock names stay ours. */
const TAB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The Web Lock a tab holds while it lives. */
export function tabLockName(tab: string): string {
  return `switchboard-tab:${tab}`;
}

/** The control message in `data`, or `null` for anything else (Comlink traffic included). */
export function parseHubWorkerMessage(data: unknown): HubWorkerMessage | null {
  if (typeof data !== 'object' || data === null) return null;
  const { type, tab, focused, id } = data as Record<string, unknown>;
  switch (type) {
    case 'switchboard:connect':
    case 'switchboard:bye':
      return { type };
    case 'switchboard:tab':
      return typeof tab === 'string' && TAB_ID.test(tab) ? { type, tab } : null;
    case 'switchboard:focus':
      return typeof focused === 'boolean' ? { type, focused } : null;
    case 'switchboard:overlay':
    case 'switchboard:overlay-hide':
      return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH ? { type, id } : null;
    default:
      return null;
  }
}
