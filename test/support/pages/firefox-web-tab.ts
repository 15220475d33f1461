/**
 * An ordinary web page in a Firefox tab (puppeteer-core), seen as the person looking at it: the
 * alert overlays the extension shows there. The overlay is a `moz-extension://…/overlay.html`
 * frame inside a closed shadow root, which no DOM query from the page reaches; WebDriver BiDi
 * lists it as a child browsing context of the tab all the same, so it is among the page's frames.
 * Puppeteer sees no navigation events for moz-extension:// documents, though (as with `load` in
 * `openExtensionPage`): such a frame's `url()` stays `about:blank`, so each frame is asked where it
 * is from inside.
 */
import type { Frame, Page } from 'puppeteer-core';
import type { FirefoxExtension } from '../firefox';
import { poll } from '../poll';
import { clickButton } from './puppeteer-form';

export class FirefoxWebTab {
  private constructor(
    readonly page: Page,
    private readonly firefox: FirefoxExtension,
  ) {}

  /** A new tab at `url`, loaded (the overlay content script runs at `document_idle`). */
  static async open(firefox: FirefoxExtension, url: string): Promise<FirefoxWebTab> {
    const page = await firefox.browser.newPage();
    await page.goto(url, { waitUntil: 'load' });
    return new FirefoxWebTab(page, firefox);
  }

  /**
   * Makes this the selected tab, as a person clicking on it would. The tests' tabs share one
   * window, so this is the tab `tabs.query({ active: true, lastFocusedWindow: true })` finds.
   */
  async bringToFront(): Promise<void> {
    await this.page.bringToFront();
  }

  /** The frames of the extension's overlay page in this tab (one still loading may be left out). */
  async overlayFrames(): Promise<Frame[]> {
    const prefix = this.firefox.url('overlay.html');
    const children = this.page.frames().filter((frame) => frame !== this.page.mainFrame());
    const hrefs = await Promise.all(children.map((frame) => frame.evaluate(() => location.href).catch(() => '')));
    return children.filter((_, i) => hrefs[i]!.startsWith(prefix));
  }

  /**
   * The overlay hosts in this tab's DOM (the content script's `<switchboard-overlay>`, there while
   * it shows at least one overlay). Read from the page as it is now, unlike `overlayFrames()`,
   * which follows the browser's reports of frames coming and going.
   */
  async overlayHosts(): Promise<number> {
    return this.page.evaluate(() => document.querySelectorAll('switchboard-overlay').length);
  }

  /** The `role="alert"` texts of the overlays shown in this tab, in DOM order of their frames. */
  async overlayTexts(): Promise<string[]> {
    const texts = await Promise.all(
      (await this.overlayFrames()).map((frame) => frame.evaluate(() => document.querySelector('[role="alert"]')?.textContent ?? null).catch(() => null)),
    );
    return texts.filter((text): text is string => text !== null);
  }

  /** Waits for an overlay whose `role="alert"` contains `title`, and returns its frame. */
  async waitForOverlay(title: string, timeoutMs = 30_000): Promise<Frame> {
    const showing = async (): Promise<Frame | undefined> => {
      for (const frame of await this.overlayFrames()) {
        const text = await frame.evaluate(() => document.querySelector('[role="alert"]')?.textContent ?? '').catch(() => '');
        if (text.includes(title)) return frame;
      }
      return undefined;
    };
    return poll(`an overlay with ${JSON.stringify(title)} in ${this.page.url()}`, showing, { timeoutMs });
  }

  /** Presses `Dismiss` in the overlay shown in `frame`. */
  async dismiss(frame: Frame): Promise<void> {
    await clickButton(frame, 'Dismiss');
  }

  /** Waits until this tab shows no overlay frame. */
  async waitForNoOverlay(timeoutMs = 30_000): Promise<void> {
    await poll(`no overlay in ${this.page.url()}`, async () => (await this.overlayFrames()).length === 0, { timeoutMs });
  }
}
