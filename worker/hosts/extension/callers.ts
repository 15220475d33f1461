/**
 * Who is on the other end of a `runtime.Port` or message the background receives. Only the
 * extension's own pages get the hub: the popup, the options page and the overlay page, wherever
 * they are shown (in the toolbar, in a tab, or the overlay page framed inside a web page). The
 * overlay's content script shares the extension's `sender.id` but runs in the web page's renderer,
 * which a compromised page may control, so it gets nothing: it only receives the background's
 * show/hide messages. Other extensions and web pages cannot connect at all (no
 * `externally_connectable`), and are refused here as well.
 *
 * What the browsers report, seen in Chromium 156 and Firefox ESR 153 (both fill `sender` in the
 * browser process, so a renderer cannot choose it):
 *
 * | context | `sender.url` | `sender.origin` | `sender.tab` |
 * | --- | --- | --- | --- |
 * | popup, options (toolbar or in a tab) | `chrome-extension://ID/popup.html` | `chrome-extension://ID` | the tab, when in one |
 * | overlay page framed in a web page | `chrome-extension://ID/overlay.html?id=…` (Chrome reports the static id, not the `use_dynamic_url` one it was loaded by) | `chrome-extension://ID` | the web page's tab |
 * | content script | the web page's URL | the web page's origin | the web page's tab |
 *
 * Firefox reports the same with `moz-extension://UUID`. So `sender.tab` says nothing (extension
 * pages may be in tabs and in frames of web pages); the URL and origin do.
 */

/** The part of `runtime.MessageSender` the check reads. */
export interface SenderLike {
  readonly id?: string;
  readonly url?: string;
  readonly origin?: string;
}

/** This extension: its id and the base of its own URLs (`runtime.getURL('/')`, ending in `/`). */
export interface OwnExtension {
  readonly id: string;
  readonly baseUrl: string;
}

/**
 * True when `sender` is a page of this extension: our id, a URL under our own base, and (where the
 * browser reports it) our own origin. A content script's URL is the web page's, so it is not.
 */
export function isExtensionPage(sender: SenderLike | undefined, own: OwnExtension): boolean {
  if (!sender || sender.id !== own.id || !own.baseUrl.endsWith('/')) return false;
  if (typeof sender.url !== 'string' || !sender.url.startsWith(own.baseUrl)) return false;
  return sender.origin === undefined || sender.origin === own.baseUrl.slice(0, -1);
}
