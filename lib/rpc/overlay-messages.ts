/**
 * The few messages between the extension's background, the overlay content script in each tab and
 * the overlay page it frames. They carry an overlay's id only, never its text: the content script
 * runs beside the page, so whatever it holds a compromised page could learn. The text is fetched
 * by the extension-origin overlay page itself (`HubApi.overlay(id)`).
 */

/** Background → content script: show the overlay `id` in this tab. Answered with `OverlayShown`. */
export interface ShowOverlayMessage {
  readonly type: 'switchboard:overlay';
  readonly id: string;
}

/** Background → content script: remove the overlay `id` if this tab shows it. */
export interface HideOverlayMessage {
  readonly type: 'switchboard:overlay-hide';
  readonly id: string;
}

/**
 * Overlay page → background: the overlay `id` has nothing to show (dismissed meanwhile, or the
 * hub lost it in a restart), so the background asks the page's tab to remove the frame.
 */
export interface OverlayGoneMessage {
  readonly type: 'switchboard:overlay-gone';
  readonly id: string;
}

export type OverlayMessage = ShowOverlayMessage | HideOverlayMessage | OverlayGoneMessage;

/** The content script's answer to `ShowOverlayMessage`: the frame is mounted. */
export interface OverlayShown {
  readonly shown: true;
}

/** The extension page the content script frames (the only web-accessible resource). */
export const OVERLAY_PAGE = 'overlay.html';

/** Overlay ids are the hub's (feed entry ids such as `feed:ann/3f2a/7`): printable ASCII, bounded. */
const OVERLAY_ID = /^[\x21-\x7e]{1,256}$/;

export function isOverlayId(input: unknown): input is string {
  return typeof input === 'string' && OVERLAY_ID.test(input);
}

/** The message, or `null` for anything else (another extension's, a malformed one). */
export function parseOverlayMessage(input: unknown): OverlayMessage | null {
  if (input === null || typeof input !== 'object') return null;
  const { type, id } = input as Record<string, unknown>;
  if (!isOverlayId(id)) return null;
  switch (type) {
    case 'switchboard:overlay':
    case 'switchboard:overlay-hide':
    case 'switchboard:overlay-gone':
      return { type, id };
    default:
      return null;
  }
}

export function isOverlayShown(input: unknown): input is OverlayShown {
  return input !== null && typeof input === 'object' && (input as Record<string, unknown>).shown === true;
}

/** `overlay.html?id=…`, relative to the extension's root. */
export function overlayPagePath(id: string): string {
  return `${OVERLAY_PAGE}?${new URLSearchParams({ id }).toString()}`;
}
