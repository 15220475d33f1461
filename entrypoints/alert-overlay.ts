/**
 * Shows alert overlays in web pages. Declared in the manifest as a content script for every http(s)
 * page (`wxt.config.ts`), in the isolated world, but holds no alert text: on the background's word
 * it mounts a frame of the extension page `overlay.html` (top-right, above everything) that fetches
 * and shows the text itself. That frame is cross-origin to the page, so the page's scripts can
 * neither read nor press it, and it sits in a closed shadow root, so they cannot even find it
 * through the DOM.
 *
 * Until an overlay is shown the page can tell nothing: this script only adds a `runtime.onMessage`
 * listener (which pages cannot see). It is a plain script, not a WXT content script, on purpose:
 * WXT's `ContentScriptContext` posts a window message and dispatches a DOM event carrying the
 * extension's id into every page when it starts. It calls nothing in the background either: the
 * background serves its hub to extension pages only.
 */
import { browser } from 'wxt/browser';
import { overlayPagePath, parseOverlayMessage, type OverlayShown } from '@/lib/rpc/overlay-messages';

/** Every style inline and `!important`: the page's own CSS must not move, hide or restyle it. */
const HOST_STYLE = [
  'all: initial',
  'position: fixed',
  'top: 12px',
  'right: 12px',
  'z-index: 2147483647',
  'display: flex',
  'flex-direction: column',
  'gap: 8px',
  'width: 360px',
  'max-width: calc(100vw - 24px)',
  'pointer-events: none',
]
  .map((rule) => `${rule} !important`)
  .join('; ');

const FRAME_CSS = `iframe {
  all: initial;
  display: block;
  width: 100%;
  height: 164px;
  border: 0;
  border-radius: 10px;
  box-shadow: 0 6px 24px rgba(0, 0, 0, 0.28);
  pointer-events: auto;
  color-scheme: normal;
}`;

export default defineUnlistedScript(() => {
  let host: HTMLElement | null = null;
  let shadow: ShadowRoot | null = null;
  const frames = new Map<string, HTMLIFrameElement>();

  function unmount(id: string): void {
    frames.get(id)?.remove();
    frames.delete(id);
    if (frames.size === 0) {
      host?.remove();
      host = null;
      shadow = null;
    }
  }

  function mount(id: string): void {
    if (frames.has(id)) return;
    if (!host || !shadow || !host.isConnected) {
      host = document.createElement('switchboard-overlay');
      host.setAttribute('style', HOST_STYLE);
      shadow = host.attachShadow({ mode: 'closed' });
      const style = document.createElement('style');
      style.textContent = FRAME_CSS;
      shadow.append(style);
      (document.body ?? document.documentElement).append(host);
    }
    const frame = document.createElement('iframe');
    frame.src = browser.runtime.getURL(`/${overlayPagePath(id)}` as '/overlay.html');
    frame.title = 'Switchboard alert';
    frame.referrerPolicy = 'no-referrer';
    shadow.append(frame);
    frames.set(id, frame);
  }

  function onMessage(message: unknown, sender: { id?: string }, sendResponse: (answer: OverlayShown) => void): undefined {
    // Only the extension itself talks to this script (web pages cannot reach `runtime.onMessage`).
    if (sender.id !== browser.runtime.id) return undefined;
    const parsed = parseOverlayMessage(message);
    if (parsed?.type === 'switchboard:overlay') {
      mount(parsed.id);
      sendResponse({ shown: true });
    } else if (parsed?.type === 'switchboard:overlay-hide') {
      unmount(parsed.id);
    }
    return undefined;
  }

  browser.runtime.onMessage.addListener(onMessage);
});
