/**
 * The toolbar popup in Firefox (puppeteer-core), opened in a tab and read the way a person reads
 * it: the status line, the list labelled `Prices`, the list labelled `Notifications`, the list
 * labelled `Alerts`, and the alert form filled in by its labels. The popup tabs share one window, so
 * all but the front one are hidden, and a hidden popup takes no updates until it is shown: every
 * read and wait first looks at the tab (`look`), as a person brings a tab to the front to read it.
 * Waits on a price or on the status going away re-check every `POLL_MS` (the tab in front is not
 * timer-clamped): a row that re-renders alone changes only its text node's data, which puppeteer's
 * mutation polling does not observe.
 */
import type { Page } from 'puppeteer-core';
import type { FirefoxExtension } from '../firefox';
import type { FeedRow } from './popup';
import { clickButton, fillByLabel, selectByLabel, waitForTextIn } from './puppeteer-form';

const WAIT_MS = 30_000;
const POLL_MS = 50;

/** An alert as a person types it into the form (the kinds with a price threshold). */
export interface FirefoxAlertInput {
  readonly symbol: string;
  /** The option's visible text. */
  readonly condition: 'above' | 'below' | 'crossing';
  readonly price: string;
}

/** The part of the WebExtension `tabs` API `reachTabs` uses. */
interface TabsApi {
  query(query: object): Promise<Array<{ id?: number }>>;
  sendMessage(tabId: number, message: unknown): Promise<unknown>;
}

export class FirefoxPopupPage {
  private constructor(readonly page: Page) {}

  static async open(firefox: FirefoxExtension): Promise<FirefoxPopupPage> {
    return new FirefoxPopupPage(await firefox.openExtensionPage('popup.html'));
  }

  /**
   * Brings the tab to the front and waits until it has caught up with the hub: while hidden, and
   * until it has reloaded what it shows after being shown, the popup marks its `main` `aria-busy`.
   */
  async look(): Promise<void> {
    await this.page.bringToFront();
    await this.page.waitForFunction(() => document.querySelector('main[aria-busy="true"]') === null, { polling: POLL_MS, timeout: WAIT_MS });
  }

  /**
   * Resolves once the content scripts of every tab have handled all the extension sent them so far:
   * this page (in the extension's process, as its background page) sends each tab a message no
   * script acts on and waits until it was taken, and the extension's messages to a tab arrive in
   * the order they were sent.
   */
  async reachTabs(): Promise<void> {
    await this.page.evaluate(async () => {
      const { tabs } = (globalThis as unknown as { browser: { tabs: TabsApi } }).browser;
      const all = await tabs.query({});
      // A tab with no content script rejects; one whose script answers nothing resolves: either way it is through.
      await Promise.all(all.map((tab) => tabs.sendMessage(tab.id!, { type: 'switchboard-test:probe' }).catch(() => undefined)));
    });
  }

  /** The status line's text. */
  async status(): Promise<string> {
    await this.look();
    return this.page.evaluate(() => document.querySelector('[role="status"]')?.textContent ?? '');
  }

  /** Waits until the status line's text contains `text`. */
  async waitForStatus(text: string, timeoutMs?: number): Promise<void> {
    await this.look();
    await waitForTextIn(this.page, '[role="status"]', text, timeoutMs);
  }

  /** Waits until the status line no longer contains `text`, and returns what it says instead. */
  async waitForStatusNot(text: string): Promise<string> {
    await this.look();
    await this.page.waitForFunction(
      (gone) => !(document.querySelector('[role="status"]')?.textContent ?? '').includes(gone),
      { polling: POLL_MS, timeout: WAIT_MS },
      text,
    );
    return this.status();
  }

  /** The rows of the list labelled `Prices` as `symbol → "price change"` text, e.g. `101.25 ▲ 1.25 (+1.25%)`. */
  async prices(): Promise<Record<string, string>> {
    await this.look();
    const rows = await this.page.evaluate(() =>
      [...document.querySelectorAll('ul[aria-label="Prices"] > li')].map((item) => [...item.children].map((cell) => cell.textContent ?? '')),
    );
    return Object.fromEntries(rows.map(([symbol = '', ...rest]) => [symbol, rest.join(' ')]));
  }

  /** Waits until the `Prices` row of `symbol` shows `price` (as formatted, e.g. `123.45`). */
  async waitForPrice(symbol: string, price: string, timeoutMs = WAIT_MS): Promise<void> {
    await this.look();
    await this.page.waitForFunction(
      (wanted, value) =>
        [...document.querySelectorAll('ul[aria-label="Prices"] > li')].some(
          (item) => item.querySelector('.symbol')?.textContent === wanted && item.querySelector('.value')?.textContent === value,
        ),
      { polling: POLL_MS, timeout: timeoutMs },
      symbol,
      price,
    );
  }

  /** The rows of the list labelled `Notifications`, top (newest) first. */
  async feed(): Promise<FeedRow[]> {
    await this.look();
    return this.page.evaluate(() =>
      [...document.querySelectorAll('ul[aria-label="Notifications"] > li')].map((item) => {
        const gap = item.classList.contains('gap');
        const text = item.querySelector(gap ? '.gap-text' : '.title')?.textContent ?? '';
        return { kind: gap ? ('gap' as const) : ('notification' as const), text, unread: item.getAttribute('data-unread') === 'true' };
      }),
    );
  }

  /** The titles of the notifications shown, newest first (gap notices left out). */
  async titles(): Promise<string[]> {
    return (await this.feed()).filter((row) => row.kind === 'notification').map((row) => row.text);
  }

  /**
   * Fills the alert form by its labels and presses `Create alert`; resolves once the form says the
   * alert was queued, or rejects with the error the form shows.
   */
  async createAlert(alert: FirefoxAlertInput): Promise<void> {
    await this.look();
    await fillByLabel(this.page, 'Symbol', alert.symbol);
    await selectByLabel(this.page, 'Condition', alert.condition);
    await fillByLabel(this.page, 'Price', alert.price);
    await clickButton(this.page, 'Create alert');
    const outcome = await this.page.waitForFunction(
      (queued) => {
        const form = document.querySelector('form[aria-label="New alert"]');
        const refused = form?.querySelector('[role="alert"]')?.textContent;
        if (refused) return `refused: ${refused}`;
        return [...(form?.querySelectorAll('.saved') ?? [])].some((note) => note.textContent === queued) ? 'queued' : null;
      },
      { polling: 'mutation' },
      `Queued: ${alert.symbol}`,
    );
    const said = await outcome.jsonValue();
    if (said !== 'queued') throw new Error(`the alert form ${said}`);
  }

  /**
   * The rows of the list labelled `Alerts` as `rule | state`, e.g. `AAPL above 250 | Active`, newest
   * first; a failed one also says why (`… | Failed | reason`).
   */
  async alerts(): Promise<string[]> {
    await this.look();
    return this.page.evaluate(() =>
      [...document.querySelectorAll('ul[aria-label="Alerts"] > li')].map((item) =>
        ['.rule', '.state', '.reason'].flatMap((css) => item.querySelector(css)?.textContent ?? []).join(' | '),
      ),
    );
  }
}
