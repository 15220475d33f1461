/**
 * The web dashboard the server serves at `/`, in a puppeteer-core tab (Chromium over CDP, Firefox
 * over WebDriver BiDi), read the way a person reads it: the sign-in form by its labels, the status
 * line, the lists labelled `Notifications` and `Prices`. The tabs share one window, so all but the
 * front one are hidden, and a hidden dashboard takes no updates until it is shown (only its title's
 * unread count stays current): every read and wait first looks at the tab (`look`), as a person
 * brings a tab to the front to read it, so tests read one tab at a time. Waits in the tab in front
 * re-check every `POLL_MS` (its timers are not clamped); `waitForTitle`, which reads a hidden tab,
 * re-checks on DOM mutations instead (Firefox clamps a background tab's timers to one a second).
 */
import type { Browser, ElementHandle, Page } from 'puppeteer-core';
import { poll } from '../poll';
import { clickButton, fillByLabel, selectByLabel } from './puppeteer-form';

const WAIT_MS = 30_000;
/**
 * How often a wait in the tab in front re-checks. Not on DOM mutations: a row that re-renders alone
 * changes only its text node's data, which puppeteer's mutation polling does not observe.
 */
const POLL_MS = 50;

export class DashboardPage {
  private constructor(readonly page: Page) {}

  /**
   * Opens `url` (the dashboard's `/`) in a new tab and waits until the app has rendered. With
   * `withoutSharedWorker` the page sees no `SharedWorker`, as in Chrome on Android.
   */
  static async open(browser: Browser, url: string, options: { withoutSharedWorker?: boolean } = {}): Promise<DashboardPage> {
    const page = await browser.newPage();
    if (options.withoutSharedWorker) {
      await page.evaluateOnNewDocument(() => {
        Reflect.deleteProperty(globalThis, 'SharedWorker');
      });
    }
    await page.goto(url);
    const dashboard = new DashboardPage(page);
    await dashboard.waitForRendered();
    return dashboard;
  }

  /**
   * Brings the tab to the front and waits until it has caught up with the hub: while hidden, and
   * until it has reloaded what it shows after being shown, the dashboard marks its `main` `aria-busy`.
   */
  async look(): Promise<void> {
    await this.page.bringToFront();
    await this.page.waitForFunction(() => document.querySelector('main[aria-busy="true"]') === null, { polling: POLL_MS, timeout: WAIT_MS });
  }

  /** Waits until the app's status line is on the page (after a load or a reload). */
  async waitForRendered(): Promise<void> {
    await this.page.waitForSelector('[role="status"]', { timeout: WAIT_MS });
  }

  async reload(): Promise<void> {
    await this.page.reload();
    await this.waitForRendered();
  }

  /** Types `token` into `Access token` and presses `Sign in`. */
  async signIn(token: string): Promise<void> {
    // As a person would: in the tab in front (Chromium produces no input events in a background tab).
    await this.look();
    await fillByLabel(this.page, 'Access token', token);
    await clickButton(this.page, 'Sign in');
  }

  async signOut(): Promise<void> {
    await this.look();
    await clickButton(this.page, 'Sign out');
  }

  /** Whether the sign-in form is shown right now. */
  async showsSignIn(): Promise<boolean> {
    await this.look();
    return this.page.evaluate(() => document.querySelector('form.sign-in') !== null);
  }

  /** Waits for the sign-in form (not busy) and returns its error text, `''` when it shows none. */
  async waitForSignInForm(): Promise<string> {
    await this.look();
    const handle = await this.page.waitForFunction(
      () => {
        const form = document.querySelector('form.sign-in');
        if (!form || form.querySelector('fieldset:disabled')) return null;
        // An object, so that no error (`''`) still counts as found.
        return { error: form.querySelector('[role="alert"]')?.textContent ?? '' };
      },
      { polling: POLL_MS, timeout: WAIT_MS },
    );
    return ((await handle.jsonValue()) as { error: string }).error;
  }

  /** Waits until the sign-in form shows an error containing `text`, and returns the whole error. */
  async waitForSignInError(text: string): Promise<string> {
    await this.look();
    const handle = await this.page.waitForFunction(
      (wanted) => {
        const shown = document.querySelector('form.sign-in [role="alert"]')?.textContent ?? '';
        return shown.includes(wanted) ? shown : null;
      },
      { polling: POLL_MS, timeout: WAIT_MS },
      text,
    );
    return (await handle.jsonValue()) as string;
  }

  async status(): Promise<string> {
    await this.look();
    return this.page.evaluate(() => document.querySelector('[role="status"]')?.textContent ?? '');
  }

  /** Waits until the status line contains `text`. */
  async waitForStatus(text: string, timeoutMs = WAIT_MS): Promise<void> {
    await this.look();
    await this.page.waitForFunction(
      (wanted) => document.querySelector('[role="status"]')?.textContent?.includes(wanted) ?? false,
      { polling: POLL_MS, timeout: timeoutMs },
      text,
    );
  }

  /** Waits until the status line no longer contains `text`, and returns what it says. */
  async waitForStatusNot(text: string): Promise<string> {
    await this.look();
    await this.page.waitForFunction(
      (gone) => !(document.querySelector('[role="status"]')?.textContent?.includes(gone) ?? false),
      { polling: POLL_MS, timeout: WAIT_MS },
      text,
    );
    return this.status();
  }

  /** Waits until the `Prices` row of `symbol` shows `price` as formatted (e.g. `101.25`). */
  async waitForPrice(symbol: string, price: string): Promise<void> {
    await this.look();
    await this.page.waitForFunction(
      (wanted, value) => {
        const rows = document.querySelectorAll('ul[aria-label="Prices"] > li');
        return [...rows].some((row) => row.querySelector('.symbol')?.textContent === wanted && row.querySelector('.value')?.textContent === value);
      },
      { polling: POLL_MS, timeout: WAIT_MS },
      symbol,
      price,
    );
  }

  /** The titles of the notifications shown, top (newest) first; gap notices left out. */
  async titles(): Promise<string[]> {
    await this.look();
    return this.page.evaluate(() =>
      [...document.querySelectorAll('ul[aria-label="Notifications"] > li.notification .title')].map((title) => title.textContent ?? ''),
    );
  }

  /** Waits until the tab's title is `title` (it carries the unread count, e.g. `(3) Switchboard`). */
  async waitForTitle(title: string): Promise<void> {
    try {
      await this.page.waitForFunction((wanted) => document.title === wanted, { polling: 'mutation', timeout: WAIT_MS }, title);
    } catch (error) {
      throw new Error(`the tab's title is ${JSON.stringify(await this.page.title())}, expected ${JSON.stringify(title)}`, { cause: error });
    }
  }

  /** Gap notices shown (what the hub could not recover). */
  async gaps(): Promise<string[]> {
    await this.look();
    return this.page.evaluate(() => [...document.querySelectorAll('ul[aria-label="Notifications"] > li.gap')].map((gap) => gap.textContent ?? ''));
  }

  /**
   * Waits until the notifications shown are exactly `titles`, newest first, each once; rejects after
   * `timeoutMs` with what the list showed instead.
   */
  async waitForTitles(titles: readonly string[], timeoutMs = WAIT_MS): Promise<void> {
    await this.look();
    const expected = JSON.stringify(titles);
    try {
      await this.page.waitForFunction(
        (wanted) =>
          JSON.stringify(
            [...document.querySelectorAll('ul[aria-label="Notifications"] > li.notification .title')].map((title) => title.textContent ?? ''),
          ) === wanted,
        { polling: POLL_MS, timeout: timeoutMs },
        expected,
      );
    } catch (error) {
      throw new Error(`the Notifications list shows ${JSON.stringify(await this.titles())}, expected ${expected}`, { cause: error });
    }
  }

  /** Makes this the tab the user looks at (visible and focused), caught up. */
  async bringToFront(): Promise<void> {
    await this.look();
  }

  /** Fills the alert form by its labels, presses `Create alert` and waits for `Queued: <symbol>`. */
  async createAlert(alert: { symbol: string; condition: 'above' | 'below' | 'crossing'; price: string }): Promise<void> {
    await this.page.bringToFront();
    await fillByLabel(this.page, 'Symbol', alert.symbol);
    await selectByLabel(this.page, 'Condition', alert.condition);
    await fillByLabel(this.page, 'Price', alert.price);
    await clickButton(this.page, 'Create alert');
    await this.page.waitForFunction(
      (queued) => [...document.querySelectorAll('form[aria-label="New alert"] .saved')].some((note) => note.textContent === queued),
      { polling: POLL_MS, timeout: WAIT_MS },
      `Queued: ${alert.symbol}`,
    );
  }

  /** The rows of the list labelled `Alerts` as `rule | state`, e.g. `AAPL above 110 | Active`. */
  async alerts(): Promise<string[]> {
    await this.look();
    return this.page.evaluate(() =>
      [...document.querySelectorAll('ul[aria-label="Alerts"] > li')].map((item) =>
        ['.rule', '.state'].map((css) => item.querySelector(css)?.textContent ?? '').join(' | '),
      ),
    );
  }

  /** The titles of the alert banners shown (`role="alert"` in the corner), newest first. */
  async banners(): Promise<string[]> {
    await this.look();
    return this.page.evaluate(() => [...document.querySelectorAll('.banners [role="alert"] .overlay-title')].map((title) => title.textContent ?? ''));
  }

  /** Waits for a banner whose title contains `text`, and returns that title. */
  async waitForBanner(text: string): Promise<string> {
    await this.look();
    const handle = await this.page.waitForFunction(
      (wanted) =>
        [...document.querySelectorAll('.banners [role="alert"] .overlay-title')].map((title) => title.textContent ?? '').find((title) => title.includes(wanted)) ??
        null,
      { polling: POLL_MS, timeout: WAIT_MS },
      text,
    );
    return (await handle.jsonValue()) as string;
  }

  /** Presses `Dismiss` on the banner titled `title`. */
  async dismissBanner(title: string): Promise<void> {
    await this.look();
    const button = await this.page.waitForFunction(
      (wanted) =>
        [...document.querySelectorAll('.banners [role="alert"]')]
          .find((banner) => banner.querySelector('.overlay-title')?.textContent === wanted)
          ?.querySelector('button.dismiss') ?? null,
      { polling: POLL_MS, timeout: WAIT_MS },
      title,
    );
    const element = button.asElement();
    if (!element) throw new Error(`no banner titled ${JSON.stringify(title)}`);
    await (element as ElementHandle<Element>).click();
  }

  /** Waits until no banner is shown. */
  async waitForNoBanner(): Promise<void> {
    await this.look();
    await this.page.waitForFunction(() => document.querySelector('.banners') === null, { polling: POLL_MS, timeout: WAIT_MS });
  }

  /**
   * The origin's Web Locks of dashboard tabs (`navigator.locks.query()`): `held` by live tabs, and
   * `pending`, the hub worker's requests for them, which it is granted only once a tab is gone.
   */
  async tabLocks(): Promise<{ held: number; pending: number }> {
    return this.page.evaluate(async () => {
      const state = await navigator.locks.query();
      const count = (locks: LockInfo[] | undefined) => (locks ?? []).filter((lock) => lock.name?.startsWith('switchboard-tab:')).length;
      return { held: count(state.held), pending: count(state.pending) };
    });
  }

  /** Waits until `tabLocks()` reads `expected`, and rejects with what it read otherwise. */
  async waitForTabLocks(expected: { held: number; pending: number }, timeoutMs = WAIT_MS): Promise<void> {
    // Web Locks have no change event (and no DOM to watch): re-read them.
    let seen = { held: -1, pending: -1 };
    const reads = async () => {
      seen = await this.tabLocks();
      return seen.held === expected.held && seen.pending === expected.pending;
    };
    await poll(() => `tab locks ${JSON.stringify(expected)} (they read ${JSON.stringify(seen)})`, reads, { timeoutMs });
  }

  async close(): Promise<void> {
    await this.page.close();
  }
}
