/**
 * Tabs behind the one in front, for the browser benchmarks. Headless Chromium shows every tab: a
 * background target, a minimised window, a hidden target all still report `visible` (tried with
 * CDP `Target.createTarget({ background: true })`, `{ hidden: true }` and
 * `Browser.setWindowBounds({ windowState: 'minimized' })`), so the Page Visibility API is emulated
 * instead: an init script makes `document.visibilityState` and `document.hidden` read a flag of the
 * page, and `setPageHidden` flips it and fires `visibilitychange`, as a browser does when the user
 * switches tabs. The page's code sees exactly what it sees in a real background tab; the browser's
 * own savings for hidden tabs (no frames, slowed timers) are not emulated, on either side.
 */
import type { BrowserContext, Page } from 'playwright-core';

const FLAG = '__switchboardBenchHidden';

/** Installs the emulation in every page `context` opens from now on (before the page's own scripts). */
export async function emulatePageVisibility(context: BrowserContext): Promise<void> {
  // A string, not a function: the tsx loader's helpers would not exist in the page.
  await context.addInitScript(`{
    const hidden = () => globalThis[${JSON.stringify(FLAG)}] === true;
    Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden() ? 'hidden' : 'visible') });
    Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: hidden });
  }`);
}

/** Hides or shows `page` (see `emulatePageVisibility`), and checks the page sees it. */
export async function setPageHidden(page: Page, hidden: boolean): Promise<void> {
  const seen = await page.evaluate(
    ({ flag, hidden }) => {
      (globalThis as unknown as Record<string, unknown>)[flag] = hidden;
      document.dispatchEvent(new Event('visibilitychange'));
      return document.visibilityState;
    },
    { flag: FLAG, hidden },
  );
  if (seen !== (hidden ? 'hidden' : 'visible')) throw new Error(`the page did not take the visibility emulation (it reads ${seen})`);
}
