/**
 * The toolbar popup, opened in a tab and read the way a person reads it: status line, the list
 * labelled `Notifications`, the list labelled `Prices`, the list labelled `Alerts` and the alert
 * form, filled in by its labels.
 */
import type { Page } from 'playwright-core';
import type { ExtensionBrowser } from '../chromium';

/** An alert as a person types it into the form; unset fields are left as they are. */
export interface AlertInput {
  readonly symbol: string;
  /** The option's visible text: `above`, `below`, `crossing`, `percent move`. */
  readonly condition: 'above' | 'below' | 'crossing' | 'percent move';
  readonly price?: string;
  readonly percent?: string;
  readonly windowMinutes?: string;
  readonly repeat?: 'once' | 'recurring';
  readonly cooldownMinutes?: string;
  readonly note?: string;
}

/** A row of the `Alerts` list as shown. */
export interface AlertRow {
  /** The rule in words, e.g. `AAPL above 250`. */
  readonly rule: string;
  /** As shown, e.g. `Pending sync`, `Active`, `Failed`. */
  readonly state: string;
  /** A failed alert's reason, else `''`. */
  readonly reason: string;
}

/** A row of the `Notifications` list as shown. */
export interface FeedRow {
  readonly kind: 'notification' | 'gap';
  /** The title of a notification; the notice of a gap. */
  readonly text: string;
  readonly unread: boolean;
}

export class PopupPage {
  private constructor(readonly page: Page) {}

  static async open(browser: ExtensionBrowser): Promise<PopupPage> {
    return new PopupPage(await browser.openExtensionPage('popup.html'));
  }

  /** The status line's text. */
  async status(): Promise<string> {
    return (await this.page.getByRole('status').textContent()) ?? '';
  }

  /** Waits until the status line's text contains `text`. */
  async waitForStatus(text: string): Promise<void> {
    await this.page.getByRole('status').filter({ hasText: text }).waitFor();
  }

  /** Waits until the status line no longer says `text` (e.g. after the server went away). */
  async waitForStatusNot(text: string): Promise<string> {
    await this.page.waitForFunction(
      (gone) => !document.querySelector('[role="status"]')?.textContent?.includes(gone),
      text,
      { polling: 50 },
    );
    return this.status();
  }

  /** The rows of the list labelled `Prices` as `symbol → "price change"` text, e.g. `101.25 ▲ 1.25 (+1.25%)`. */
  async prices(): Promise<Record<string, string>> {
    const rows = this.page.getByRole('list', { name: 'Prices' }).getByRole('listitem');
    const cells = await rows.evaluateAll((items) => items.map((item) => [...item.children].map((cell) => cell.textContent ?? '')));
    return Object.fromEntries(cells.map(([symbol = '', ...rest]) => [symbol, rest.join(' ')]));
  }

  /** Waits until the `Prices` row of `symbol` shows `price` (as formatted, e.g. `123.45`). */
  async waitForPrice(symbol: string, price: string): Promise<void> {
    await this.page
      .getByRole('list', { name: 'Prices' })
      .getByRole('listitem')
      .filter({ has: this.page.getByText(symbol, { exact: true }) })
      .filter({ has: this.page.getByText(price, { exact: true }) })
      .waitFor();
  }

  /** The rows of the list labelled `Notifications`, top (newest) first. */
  async feed(): Promise<FeedRow[]> {
    return this.page.getByRole('list', { name: 'Notifications' }).evaluate((list) =>
      [...list.children].map((item) => {
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
   * Waits until the notifications shown are exactly `titles`, newest first, each once; rejects
   * after `timeoutMs` (default 30 000) with what the list showed instead.
   */
  async waitForTitles(titles: readonly string[], timeoutMs = 30_000): Promise<void> {
    const expected = JSON.stringify(titles);
    try {
      await this.page.waitForFunction(
        (wanted) =>
          JSON.stringify([...document.querySelectorAll('ul[aria-label="Notifications"] > li.notification .title')].map((title) => title.textContent ?? '')) ===
          wanted,
        expected,
        { polling: 50, timeout: timeoutMs },
      );
    } catch (error) {
      throw new Error(`the Notifications list shows ${JSON.stringify(await this.titles())}, expected ${expected}`, { cause: error });
    }
  }

  /** Titles of the rows marked unread, newest first. */
  async unreadTitles(): Promise<string[]> {
    return (await this.feed()).filter((row) => row.unread).map((row) => row.text);
  }

  /** Presses `Mark read` on the notification titled `title`. */
  async markRead(title: string): Promise<void> {
    await this.notification(title).getByRole('button', { name: 'Mark read' }).click();
  }

  /** Presses `Mark all read`. */
  async markAllRead(): Promise<void> {
    await this.page.getByRole('button', { name: 'Mark all read' }).click();
  }

  /** Waits until the notification titled `title` is shown as read (unread: `false`) or unread. */
  async waitForUnread(title: string, unread: boolean): Promise<void> {
    await this.notification(title).and(this.page.locator(`[data-unread="${unread}"]`)).waitFor();
  }

  /**
   * Fills the alert form by its labels and presses `Create alert`; resolves once the form says the
   * alert was queued, or rejects with the error the form shows.
   */
  async createAlert(alert: AlertInput): Promise<void> {
    const page = this.page;
    await page.getByLabel('Symbol').fill(alert.symbol);
    await page.getByLabel('Condition').selectOption({ label: alert.condition });
    if (alert.price !== undefined) await page.getByLabel('Price', { exact: true }).fill(alert.price);
    if (alert.percent !== undefined) await page.getByLabel('Percent', { exact: true }).fill(alert.percent);
    if (alert.windowMinutes !== undefined) await page.getByLabel('Window (minutes)').fill(alert.windowMinutes);
    if (alert.repeat !== undefined) await page.getByLabel('Repeat').selectOption({ label: alert.repeat });
    if (alert.cooldownMinutes !== undefined) await page.getByLabel('Cooldown (minutes)').fill(alert.cooldownMinutes);
    if (alert.note !== undefined) await page.getByLabel('Note').fill(alert.note);
    await page.getByRole('button', { name: 'Create alert' }).click();
    const form = page.getByRole('form', { name: 'New alert' });
    const queued = form.getByText(`Queued: ${alert.symbol}`, { exact: true });
    const refused = form.getByRole('alert');
    await queued.or(refused).first().waitFor();
    if (await refused.isVisible()) throw new Error(`the alert form refused it: ${await refused.textContent()}`);
  }

  /** The rows of the list labelled `Alerts`, newest first. */
  async alerts(): Promise<AlertRow[]> {
    return this.page.getByRole('list', { name: 'Alerts' }).evaluate((list) =>
      [...list.children].map((item) => ({
        rule: item.querySelector('.rule')?.textContent ?? '',
        state: item.querySelector('.state')?.textContent ?? '',
        reason: item.querySelector('.reason')?.textContent ?? '',
      })),
    );
  }

  /**
   * Waits until the `Alerts` list shows exactly these rules in these states (in any order);
   * rejects after `timeoutMs` (default 30 000) with what it showed instead.
   */
  async waitForAlerts(expected: readonly { readonly rule: string; readonly state: string }[], timeoutMs = 30_000): Promise<AlertRow[]> {
    const key = JSON.stringify(expected.map((row) => `${row.rule} | ${row.state}`).sort());
    try {
      await this.page.waitForFunction(
        (wanted) =>
          JSON.stringify(
            [...document.querySelectorAll('ul[aria-label="Alerts"] > li')]
              .map((item) => `${item.querySelector('.rule')?.textContent ?? ''} | ${item.querySelector('.state')?.textContent ?? ''}`)
              .sort(),
          ) === wanted,
        key,
        { polling: 50, timeout: timeoutMs },
      );
    } catch (error) {
      throw new Error(`the Alerts list shows ${JSON.stringify(await this.alerts())}, expected ${JSON.stringify(expected)}`, { cause: error });
    }
    return this.alerts();
  }

  /** The row of the notification titled `title`. */
  notification(title: string) {
    return this.page
      .getByRole('list', { name: 'Notifications' })
      .getByRole('listitem')
      .filter({ has: this.page.locator('.title').getByText(title, { exact: true }) });
  }
}
