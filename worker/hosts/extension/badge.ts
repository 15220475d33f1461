/**
 * The unread count on the toolbar button: `browser.action` in Chrome MV3, `browser.browserAction`
 * in the Firefox MV2 build (which has no `action`). Badge calls need no permission.
 */
import { browser } from 'wxt/browser';
import { toErrorData } from '../../../lib/errors';
import { consoleLog, type Badge } from '../../core/platform';

/** Badge text above this count reads `99+`: the toolbar has room for about four characters. */
const BADGE_MAX = 99;
const BADGE_COLOUR = '#1a73e8';

/** `''` (no badge) for 0, the count up to 99, then `99+`. */
export function badgeText(unread: number): string {
  if (!(unread > 0)) return '';
  return unread > BADGE_MAX ? `${BADGE_MAX}+` : String(Math.floor(unread));
}

/** The toolbar button's badge, or `undefined` where the browser has no toolbar action. */
export function createToolbarBadge(): Badge | undefined {
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
