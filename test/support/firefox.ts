/**
 * Debian Firefox ESR with the built extension (`.output/firefox-mv2`), driven by puppeteer-core
 * over WebDriver BiDi (`./puppeteer`), as BROWSER-TESTING.md describes. The extension is installed
 * as a temporary add-on through BiDi (`webExtension.install`), under a fixed internal UUID so its
 * pages have a known `moz-extension://` origin; its MV2 background page is persistent, so the hub
 * connects as soon as the add-on starts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { poll } from './poll';
import { launchBrowser, type LaunchedBrowser } from './puppeteer';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Where `npm run build:firefox` puts the Firefox extension. */
export const FIREFOX_EXTENSION_DIR = resolve(repoRoot, '.output/firefox-mv2');

/**
 * The internal UUID the extension gets in every test profile. Firefox makes a random one per
 * install unless the pref `extensions.webextensions.uuids` maps the add-on id to one.
 */
export const EXTENSION_UUID = '5b0c7d1e-2f3a-4b5c-8d9e-0a1b2c3d4e5f';

/** How long a page of the extension may take to load before `openExtensionPage` gives up. */
const PAGE_LOAD_MS = 15_000;

export interface FirefoxExtension {
  readonly browser: Browser;
  /** The add-on id from the manifest (`browser_specific_settings.gecko.id`). */
  readonly geckoId: string;
  /** `moz-extension://UUID/<path>`. */
  url(path: string): string;
  /** A new tab at `url(path)`, once its document has loaded. */
  openExtensionPage(path: string): Promise<Page>;
  close(): Promise<void>;
}

export interface FirefoxLaunchOptions {
  /** The unpacked extension. Default `.output/firefox-mv2`. */
  readonly extensionDir: string;
}

export async function launchFirefoxWithExtension(options: Readonly<Partial<FirefoxLaunchOptions>> = {}): Promise<FirefoxExtension> {
  const extensionDir = options.extensionDir ?? FIREFOX_EXTENSION_DIR;
  const geckoId = readGeckoId(extensionDir);
  const launched: LaunchedBrowser = await launchBrowser('firefox', {
    firefoxPrefs: { 'extensions.webextensions.uuids': JSON.stringify({ [geckoId]: EXTENSION_UUID }) },
  });
  try {
    const installed = await launched.browser.installExtension(extensionDir);
    if (installed !== geckoId) throw new Error(`Firefox installed ${installed}, expected ${geckoId}`);
  } catch (error) {
    await launched.close();
    throw error;
  }
  const url = (path: string): string => `moz-extension://${EXTENSION_UUID}/${path}`;
  return {
    browser: launched.browser,
    geckoId,
    url,
    async openExtensionPage(path) {
      const page = await launched.browser.newPage();
      const target = url(path);
      // Puppeteer never sees `load` for a moz-extension:// document, so `goto` would hang until its
      // timeout (and rejects once the tab closes): start it, then watch the document instead.
      void page.goto(target).catch(() => {});
      await waitForDocument(page, target);
      return page;
    },
    close: () => launched.close(),
  };
}

/**
 * Re-reads the tab's document until it is `href`, fully loaded. Each read is a fresh evaluation:
 * one that lands while `about:blank` is being replaced fails (its realm is gone) and is retried.
 */
async function waitForDocument(page: Page, href: string): Promise<void> {
  const loaded = () => page.evaluate((wanted) => location.href === wanted && document.readyState === 'complete', href).catch(() => false);
  await poll(() => `${href} to load (the tab shows ${page.url()})`, loaded, { timeoutMs: PAGE_LOAD_MS });
}

function readGeckoId(extensionDir: string): string {
  const manifestPath = resolve(extensionDir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`No built extension in ${extensionDir}: run \`npm run build:firefox\` first`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { browser_specific_settings?: { gecko?: { id?: unknown } } };
  const id = manifest.browser_specific_settings?.gecko?.id;
  if (typeof id !== 'string') throw new Error(`${manifestPath} has no browser_specific_settings.gecko.id`);
  return id;
}
