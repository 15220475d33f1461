/**
 * Which senders the extension's background serves: its own pages wherever they are shown, and
 * nothing else. The senders are the ones Chromium 156 and Firefox ESR 153 reported for each context
 * (recorded with the built extension; `sender.tab` and ids trimmed where they do not matter).
 */
import { describe, expect, test } from 'vitest';
import { isExtensionPage, type OwnExtension, type SenderLike } from '../../worker/hosts/extension/callers';

const CHROME: OwnExtension = { id: 'dppeilcbdknkdofkkbimkeclelkiahid', baseUrl: 'chrome-extension://dppeilcbdknkdofkkbimkeclelkiahid/' };
const FIREFOX: OwnExtension = { id: 'switchboard@switchboard.dev', baseUrl: 'moz-extension://5b0c7d1e-2f3a-4b5c-8d9e-0a1b2c3d4e5f/' };
const C = 'chrome-extension://dppeilcbdknkdofkkbimkeclelkiahid';
const F = 'moz-extension://5b0c7d1e-2f3a-4b5c-8d9e-0a1b2c3d4e5f';
const PAGE = 'http://127.0.0.1:41785';

const cases: ReadonlyArray<readonly [string, OwnExtension, SenderLike | undefined, boolean]> = [
  ['Chrome: the popup in a tab', CHROME, { id: CHROME.id, url: `${C}/popup.html`, origin: C }, true],
  ['Chrome: the options page', CHROME, { id: CHROME.id, url: `${C}/options.html`, origin: C }, true],
  ['Chrome: the overlay page framed in a web page', CHROME, { id: CHROME.id, url: `${C}/overlay.html?id=x`, origin: C }, true],
  ['Chrome: the content script', CHROME, { id: CHROME.id, url: `${PAGE}/x`, origin: PAGE }, false],
  ['Chrome: a content script in a page whose URL mimics ours', CHROME, { id: CHROME.id, url: `${PAGE}/${C}/popup.html`, origin: PAGE }, false],
  ['Chrome: another extension', CHROME, { id: 'abcdefghijklmnopabcdefghijklmnop', url: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop/x.html', origin: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop' }, false],
  ['Chrome: another extension whose id starts like ours', CHROME, { id: CHROME.id, url: `${C}x/popup.html`, origin: `${C}x` }, false],
  ['Chrome: our URL with a foreign origin', CHROME, { id: CHROME.id, url: `${C}/popup.html`, origin: PAGE }, false],
  ['Chrome: no URL', CHROME, { id: CHROME.id, origin: C }, false],
  ['Chrome: no id', CHROME, { url: `${C}/popup.html`, origin: C }, false],
  ['no sender', CHROME, undefined, false],
  ['Firefox: the options page', FIREFOX, { id: FIREFOX.id, url: `${F}/options.html`, origin: F }, true],
  ['Firefox: the overlay page framed in a web page', FIREFOX, { id: FIREFOX.id, url: `${F}/overlay.html?id=x`, origin: F }, true],
  ['Firefox: a page without an origin reported', FIREFOX, { id: FIREFOX.id, url: `${F}/popup.html` }, true],
  ['Firefox: the content script', FIREFOX, { id: FIREFOX.id, url: `${PAGE}/x`, origin: PAGE }, false],
];

describe('isExtensionPage', () => {
  test.each(cases)('%s', (_, own, sender, expected) => {
    expect(isExtensionPage(sender, own)).toBe(expected);
  });

  test('a base URL without its trailing slash matches nothing', () => {
    expect(isExtensionPage({ id: CHROME.id, url: `${C}/popup.html`, origin: C }, { id: CHROME.id, baseUrl: C })).toBe(false);
  });
});
