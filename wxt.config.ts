import { defineConfig } from 'wxt';
import preact from '@preact/preset-vite';

/**
 * The Firefox add-on id (fixed, so storage and the extension's IndexedDB survive reinstalls) and
 * Firefox's built-in data consent: Switchboard sends nothing to its authors, only to the server the
 * user configures, so it declares `none` (https://mzl.la/firefox-builtin-data-consent). That key
 * exists since Firefox 140 (the 140 ESR) and Firefox for Android 142, hence the minimum versions.
 */
const FIREFOX_SETTINGS = {
  gecko: {
    id: 'switchboard@switchboard.dev',
    strict_min_version: '140.0',
    data_collection_permissions: { required: ['none'] },
  },
  gecko_android: { strict_min_version: '142.0' },
};

/**
 * Chrome serialises extension messages as JSON unless told otherwise; from Chrome 148 this key makes
 * it structured-clone them, as Firefox always does (Chromium 156 here honours it: a `Map` or `Date`
 * arrives as itself). Older Chrome ignores the key and keeps JSON, which the hub's plain-data API
 * and `lib/rpc/runtime-port-endpoint.ts` work with as well. Firefox does not know the key.
 */
const CHROME_SETTINGS = { message_serialization: 'structured_clone' };

// Permissions are the fewest the features need; README explains each one.
export default defineConfig({
  vite: () => ({ plugins: [preact()] }),
  manifest: ({ browser }) => ({
    name: 'Switchboard',
    description: 'Live notifications and price alerts over one connection for every tab.',
    permissions: ['storage', 'alarms', 'notifications'],
    // The overlay script is a plain (unlisted) script declared here rather than a WXT content
    // script: WXT's content-script context announces itself to every page it runs in (a window
    // message and a DOM event naming the extension), and this one must stay silent until an alert
    // is shown (entrypoints/alert-overlay.ts).
    content_scripts: [{ matches: ['http://*/*', 'https://*/*'], run_at: 'document_idle', js: ['alert-overlay.js'] }],
    // Only the overlay page may be framed by web pages (its scripts and styles are loaded by the
    // page itself, from the extension's origin). Chrome's dynamic URL changes every session, so
    // pages cannot probe for the extension by its fixed id; Firefox's ids are per install anyway.
    web_accessible_resources: [
      {
        resources: ['overlay.html'],
        matches: ['http://*/*', 'https://*/*'],
        ...(browser === 'firefox' ? {} : { use_dynamic_url: true }),
      },
    ],
    ...(browser === 'firefox' ? { browser_specific_settings: FIREFOX_SETTINGS } : CHROME_SETTINGS),
  }),
});
