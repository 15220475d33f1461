/**
 * Dashboard tabs in Debian's Chromium for the browser benchmarks: a fresh profile per launch
 * (playwright-core, headless, as `test/support/chromium.ts` launches it), the first tab signs in
 * through the form as a person would, and the others open once it is connected. With
 * `sharedWorker: false` an init script deletes `window.SharedWorker` before the page's own scripts
 * run, so each tab starts the hub in a dedicated Worker of its own, with its own WebSocket (the
 * dashboard's fallback for browsers without SharedWorker), and the UI is otherwise the same bundle.
 *
 * Headless Chromium reports every tab as visible and focused, so every tab renders everything it
 * receives: these figures are for ten tabs on screen at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { BROWSER_PATHS, CHROMIUM_ARGS } from '../../test/support/puppeteer';
import { emulatePageVisibility } from './page-visibility';

export interface LaunchedPages {
  readonly context: BrowserContext;
  /** The profile directory, which names every process of this browser (`--user-data-dir`). */
  readonly profileDir: string;
  close(): Promise<void>;
}

/** Chromium on a fresh profile; `args` are added to the usual flags. */
export async function launchPlainChromium(args: readonly string[] = []): Promise<LaunchedPages> {
  const profileDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: BROWSER_PATHS.chromium,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
  });
  return {
    context,
    profileDir,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/** Waits until the page's status line contains `Connected`. */
export async function waitForConnected(page: Page): Promise<void> {
  await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: 30_000 });
}

/** Waits until the page's `Prices` list has at least `rows` rows. */
export async function waitForPriceRows(page: Page, rows: number): Promise<void> {
  await page.waitForFunction((wanted) => document.querySelectorAll('ul[aria-label="Prices"] > li').length >= wanted, rows, {
    timeout: 30_000,
  });
}

export interface DashboardTabsOptions {
  /** The dashboard's URL (the server's `/`). */
  readonly url: string;
  readonly token: string;
  readonly tabs: number;
  /** `false` deletes `window.SharedWorker` in every tab before the dashboard's scripts run. */
  readonly sharedWorker: boolean;
  /** Each tab waits until it shows this many price rows. */
  readonly priceRows: number;
  /** Emulates the Page Visibility API in every tab, so `setPageHidden` can send one to the background. Default `false`. */
  readonly emulateVisibility?: boolean;
}

export interface DashboardTabs extends LaunchedPages {
  readonly pages: readonly Page[];
}

/** Launches a browser with `tabs` signed-in dashboard tabs showing live prices. */
export async function openDashboardTabs(options: DashboardTabsOptions): Promise<DashboardTabs> {
  const launched = await launchPlainChromium();
  const pages: Page[] = [];
  try {
    if (options.emulateVisibility) await emulatePageVisibility(launched.context);
    if (!options.sharedWorker) {
      await launched.context.addInitScript(() => {
        Reflect.deleteProperty(globalThis, 'SharedWorker');
      });
    }
    const first = launched.context.pages()[0] ?? (await launched.context.newPage());
    await first.goto(options.url);
    await first.getByLabel('Access token').fill(options.token);
    await first.getByRole('button', { name: 'Sign in' }).click();
    await waitForConnected(first);
    pages.push(first);
    for (let i = 1; i < options.tabs; i += 1) {
      const page = await launched.context.newPage();
      await page.goto(options.url);
      pages.push(page);
    }
    for (const page of pages) {
      await waitForConnected(page);
      await waitForPriceRows(page, options.priceRows);
    }
    if (!options.sharedWorker && (await first.evaluate(() => typeof SharedWorker)) !== 'undefined') {
      throw new Error('the init script did not take SharedWorker away');
    }
  } catch (error) {
    await launched.close();
    throw error;
  }
  return { ...launched, pages };
}
