/**
 * Debian Chromium with the built extension (`.output/chrome-mv3`), launched through playwright-core
 * on a fresh profile, as BROWSER-TESTING.md describes. Gives the extension id, its service worker
 * and a way to stop that worker the way Chrome does when it is idle.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Where `npm run build` puts the Chrome extension. */
export const CHROME_EXTENSION_DIR = resolve(repoRoot, '.output/chrome-mv3');

export interface ExtensionBrowser {
  readonly context: BrowserContext;
  /** The host of the extension's `chrome-extension://` URLs. */
  readonly extensionId: string;
  /** `chrome-extension://ID/<path>`. */
  url(path: string): string;
  /** The background service worker (the same handle evaluates in a restarted worker). */
  serviceWorker(): Promise<Worker>;
  /** Stops every service worker through CDP, as Chrome does with an idle one. */
  stopServiceWorkers(): Promise<void>;
  /** A new tab at `url(path)`, loaded. */
  openExtensionPage(path: string): Promise<Page>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** The unpacked extension. Default `.output/chrome-mv3`. */
  readonly extensionDir: string;
  /** Default `/usr/bin/chromium`, or `CHROMIUM_PATH`. */
  readonly executablePath: string;
}

export async function launchChromiumWithExtension(options: Readonly<Partial<LaunchOptions>> = {}): Promise<ExtensionBrowser> {
  const extensionDir = options.extensionDir ?? CHROME_EXTENSION_DIR;
  if (!existsSync(join(extensionDir, 'manifest.json'))) {
    throw new Error(`No built extension in ${extensionDir}: run \`npm run build\` first`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'switchboard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: options.executablePath ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
      // Without these Chromium keeps trying the network, which is closed here.
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
  const serviceWorker = async (): Promise<Worker> => context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  const extensionId = new URL((await serviceWorker()).url()).host;
  const url = (path: string): string => `chrome-extension://${extensionId}/${path}`;

  return {
    context,
    extensionId,
    url,
    serviceWorker,
    async stopServiceWorkers() {
      const page = context.pages()[0] ?? (await context.newPage());
      const cdp = await context.newCDPSession(page);
      try {
        await cdp.send('ServiceWorker.enable');
        await cdp.send('ServiceWorker.stopAllWorkers');
      } finally {
        await cdp.detach();
      }
    },
    async openExtensionPage(path) {
      const page = await context.newPage();
      await page.goto(url(path));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
