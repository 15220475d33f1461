/**
 * Debian's browsers driven through puppeteer-core, one API for both: Firefox ESR over WebDriver
 * BiDi (there is no geckodriver package here, and BiDi is what puppeteer speaks to Firefox) and
 * Chromium over CDP. Each launch gets a fresh profile unless one is given, listens on no network
 * port and never downloads a browser. See BROWSER-TESTING.md for why these flags.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type LaunchOptions } from 'puppeteer-core';

export type BrowserKind = 'chromium' | 'firefox';

export const BROWSER_PATHS: Readonly<Record<BrowserKind, string>> = {
  chromium: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  firefox: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
};

export interface PuppeteerLaunchOptions {
  /** Profile directory to reuse (relaunch on the same profile); a fresh temporary one otherwise. */
  readonly profileDir?: string;
  /** Extra Firefox preferences, e.g. `extensions.webextensions.uuids` to fix an extension's UUID. */
  readonly firefoxPrefs?: Readonly<Record<string, unknown>>;
  /** Extra command-line arguments. */
  readonly args?: readonly string[];
}

export interface LaunchedBrowser {
  readonly kind: BrowserKind;
  readonly browser: Browser;
  /** The profile in use; removed on `close()` only when this launch made it. */
  readonly profileDir: string;
  close(): Promise<void>;
}

/** Chromium's flags for tests and benchmarks: no sandbox or GPU here, and no network, which is closed. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  // No update checks, telemetry or first-run pages against the closed network.
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'browser.startup.homepage_override.mstone': 'ignore',
};

/** Launches `kind` headless on a fresh (or the given) profile. */
export async function launchBrowser(kind: BrowserKind, options: PuppeteerLaunchOptions = {}): Promise<LaunchedBrowser> {
  const ownProfile = options.profileDir === undefined;
  const profileDir = options.profileDir ?? mkdtempSync(join(tmpdir(), `switchboard-${kind}-`));
  const common: LaunchOptions = { executablePath: BROWSER_PATHS[kind], headless: true, userDataDir: profileDir };
  const launch: LaunchOptions =
    kind === 'firefox'
      ? {
          ...common,
          browser: 'firefox',
          protocol: 'webDriverBiDi',
          // Lets a test open moz-extension:// pages in a tab (BROWSER-TESTING.md).
          args: ['--remote-allow-system-access', ...(options.args ?? [])],
          extraPrefsFirefox: { ...FIREFOX_PREFS, ...options.firefoxPrefs },
        }
      : { ...common, browser: 'chrome', args: [...CHROMIUM_ARGS, ...(options.args ?? [])] };
  let browser: Browser;
  try {
    browser = await puppeteer.launch(launch);
  } catch (error) {
    if (ownProfile) rmSync(profileDir, { recursive: true, force: true });
    throw error;
  }
  return {
    kind,
    browser,
    profileDir,
    async close() {
      await browser.close().catch(() => {});
      if (ownProfile) rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
