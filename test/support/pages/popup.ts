/** The toolbar popup, opened in a tab and read the way a person reads it: status line and price list. */
import type { Page } from 'playwright-core';
import type { ExtensionBrowser } from '../chromium';

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
}
