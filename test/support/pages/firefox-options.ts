/** The options page in Firefox (puppeteer-core), filled in by the labels `Server URL` and `Access token`. */
import type { Page } from 'puppeteer-core';
import type { FirefoxExtension } from '../firefox';
import { clickButton, fillByLabel, waitForTextIn } from './puppeteer-form';

export class FirefoxOptionsPage {
  private constructor(readonly page: Page) {}

  static async open(firefox: FirefoxExtension): Promise<FirefoxOptionsPage> {
    return new FirefoxOptionsPage(await firefox.openExtensionPage('options.html'));
  }

  /** Types the settings over the loaded ones (the form stays disabled until they load), presses `Save` and waits for `Saved`. */
  async save(settings: { readonly serverUrl: string; readonly token: string }): Promise<void> {
    await fillByLabel(this.page, 'Server URL', settings.serverUrl);
    await fillByLabel(this.page, 'Access token', settings.token);
    await clickButton(this.page, 'Save');
    await waitForTextIn(this.page, '.settings .saved', 'Saved');
  }

  /** Waits until the page's status line contains `text`. */
  async waitForStatus(text: string, timeoutMs?: number): Promise<void> {
    await waitForTextIn(this.page, '[role="status"]', text, timeoutMs);
  }
}
