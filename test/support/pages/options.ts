/** The options page, filled in like a person would: by the labels `Server URL` and `Access token`. */
import type { Page } from 'playwright-core';
import type { ExtensionBrowser } from '../chromium';

export class OptionsPage {
  private constructor(readonly page: Page) {}

  static async open(browser: ExtensionBrowser): Promise<OptionsPage> {
    return new OptionsPage(await browser.openExtensionPage('options.html'));
  }

  /** Types the settings over the loaded ones, presses `Save` and waits for `Saved`. */
  async save(settings: { serverUrl: string; token: string }): Promise<void> {
    const serverUrl = this.page.getByLabel('Server URL');
    // The form stays disabled until the hub has sent the stored settings.
    await serverUrl.and(this.page.locator(':enabled')).waitFor();
    await serverUrl.fill(settings.serverUrl);
    await this.page.getByLabel('Access token').fill(settings.token);
    await this.page.getByRole('button', { name: 'Save' }).click();
    await this.page.getByText('Saved', { exact: true }).waitFor();
  }

  /** Waits until the page's status line contains `text`. */
  async waitForStatus(text: string): Promise<void> {
    await this.page.getByRole('status').filter({ hasText: text }).waitFor();
  }
}
