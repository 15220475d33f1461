/**
 * An ordinary web page in a tab, seen two ways: as the person looking at it (the alert overlay the
 * extension shows there, read and pressed inside its frame) and as the page's own scripts, which
 * run in the main world and must learn nothing of the overlay.
 */
import { createServer, type Server } from 'node:http';
import type { Frame, Page } from 'playwright-core';
import type { ExtensionBrowser } from '../chromium';
import { poll } from '../poll';

/** What the page's own script could find out about the overlay. */
export interface PageView {
  /** `document.body.innerText`. */
  readonly text: string;
  /** `<iframe>` elements its DOM queries find. */
  readonly iframes: number;
  /** For each `window[i]`: its text if readable, else the error's name. */
  readonly frames: readonly string[];
  /** Whether an element other than the page's own is in `<body>`, and if it has a readable shadow root. */
  readonly foreignElements: number;
  readonly openShadowRoots: number;
}

/** What a watched page's own script saw of the extension (`WebTab.signalsSeen`). */
export interface PageSignals {
  /** Window messages, as JSON, other than the page's own marker. */
  readonly messages: readonly string[];
  /** Names of elements added that the page did not make. */
  readonly nodes: readonly string[];
  /** Names on `window` that were not there when the page's first script ran. */
  readonly globals: readonly string[];
}

/** A node of CDP's `DOM.getDocument` (`pierce`: shadow roots included). */
interface DomNode {
  readonly nodeName: string;
  /** Name, value, name, value, ... */
  readonly attributes?: readonly string[];
  readonly children?: readonly DomNode[];
  readonly shadowRoots?: readonly DomNode[];
}

/** Whether `url` is the extension's overlay page. */
function isOverlayUrl(url: string | undefined): boolean {
  const parsed = url === undefined ? null : URL.parse(url);
  return parsed?.protocol === 'chrome-extension:' && parsed.pathname === '/overlay.html';
}

/** An attribute of a CDP node (its `attributes` list name and value in turn). */
function attributeOf(node: DomNode, name: string): string | undefined {
  const at = node.attributes?.findIndex((item, i) => i % 2 === 0 && item === name) ?? -1;
  return at < 0 ? undefined : node.attributes?.[at + 1];
}

export class WebTab {
  private constructor(readonly page: Page) {}

  static async open(browser: ExtensionBrowser, url: string): Promise<WebTab> {
    const page = await browser.context.newPage();
    await page.goto(url);
    // The overlay content script runs at `document_idle`.
    await page.waitForLoadState('load');
    return new WebTab(page);
  }

  /** Makes this the active tab of the focused window, as a person clicking on it would. */
  async bringToFront(): Promise<void> {
    await this.page.bringToFront();
  }

  /** The frames of the extension's overlay page in this tab. */
  overlayFrames(): Frame[] {
    return this.page.frames().filter((frame) => isOverlayUrl(frame.url()));
  }

  /**
   * The overlay frames in this tab's DOM as it is now, closed shadow roots included (read over CDP,
   * as DevTools shows them). `overlayFrames()` follows the browser's reports of frames coming and
   * going instead, which may trail the DOM.
   */
  async overlayFramesInDom(): Promise<number> {
    const cdp = await this.page.context().newCDPSession(this.page);
    try {
      const { root } = (await cdp.send('DOM.getDocument', { depth: -1, pierce: true })) as { root: DomNode };
      const count = (node: DomNode): number =>
        (node.nodeName === 'IFRAME' && isOverlayUrl(attributeOf(node, 'src')) ? 1 : 0) +
        [...(node.children ?? []), ...(node.shadowRoots ?? [])].reduce((sum, child) => sum + count(child), 0);
      return count(root);
    } finally {
      await cdp.detach();
    }
  }

  /** Waits for an overlay frame whose `role="alert"` contains `title`, and returns it. */
  async waitForOverlay(title: string, timeoutMs = 30_000): Promise<Frame> {
    // The frames sit in a closed shadow root, out of reach of the page's locators: ask each one.
    const showing = async (): Promise<Frame | undefined> => {
      for (const frame of this.overlayFrames()) {
        const text = await frame.evaluate(() => document.querySelector('[role="alert"]')?.textContent ?? null).catch(() => null);
        if (text?.includes(title)) return frame;
      }
      return undefined;
    };
    return poll(`an overlay with ${JSON.stringify(title)} in ${this.page.url()}`, showing, { timeoutMs });
  }

  /** Waits until this tab shows no overlay frame. */
  async waitForNoOverlay(timeoutMs = 30_000): Promise<void> {
    await poll(() => `no overlay in ${this.page.url()} (it shows ${this.overlayFrames().length})`, () => this.overlayFrames().length === 0, { timeoutMs });
  }

  /** Everything the page's own script (main world) can see of what the extension added. */
  async pageView(): Promise<PageView> {
    return this.page.evaluate(() => {
      const frames: string[] = [];
      for (let i = 0; i < window.length; i += 1) {
        try {
          frames.push(window[i]!.document.body.innerText);
        } catch (error) {
          frames.push(error instanceof Error ? error.name : String(error));
        }
      }
      const foreign = [...document.body.querySelectorAll('*')].filter((element) => !element.hasAttribute('data-page'));
      return {
        text: document.body.innerText,
        iframes: document.querySelectorAll('iframe').length,
        frames,
        foreignElements: foreign.length,
        openShadowRoots: foreign.filter((element) => element.shadowRoot !== null).length,
      };
    });
  }

  /**
   * Hands the overlay's `<iframe>` element to the page's own script (which could not find it by
   * itself: it sits in a closed shadow root) and reports what that script can read through it:
   * `contentDocument` (null for a cross-origin frame) and `contentWindow.document` (throws).
   */
  async pageReadsFrame(frame: Frame): Promise<{ readonly contentDocument: string | null; readonly windowDocument: string }> {
    const element = await frame.frameElement();
    return this.page.evaluate((iframe) => {
      const frameElement = iframe as HTMLIFrameElement;
      let windowDocument: string;
      try {
        windowDocument = frameElement.contentWindow?.document.body.innerText ?? 'no window';
      } catch (error) {
        windowDocument = error instanceof Error ? error.name : String(error);
      }
      return { contentDocument: frameElement.contentDocument?.body.innerText ?? null, windowDocument };
    }, element);
  }

  /**
   * What the watching script of this page (under `/watched`) saw of the extension so far: window
   * messages, elements the page did not make, and names added to `window`. The page first posts a
   * marker to itself and waits for it, so every message posted to it before has been delivered.
   */
  async signalsSeen(): Promise<PageSignals> {
    return this.page.evaluate(async (marker) => {
      const seen = (window as unknown as { __seen?: { messages: string[]; nodes: string[]; globals: string[] } }).__seen;
      if (!seen) throw new Error('not a watched page');
      await new Promise<void>((arrived) => {
        const onMessage = (event: MessageEvent) => {
          if (event.data !== marker) return;
          removeEventListener('message', onMessage);
          arrived();
        };
        addEventListener('message', onMessage);
        postMessage(marker, '*');
      });
      return {
        messages: seen.messages.filter((message) => message !== JSON.stringify(marker)),
        nodes: [...seen.nodes],
        globals: Object.getOwnPropertyNames(window).filter((name) => !seen.globals.includes(name)),
      };
    }, MARKER);
  }

  /** The page's script clicks whatever is at the overlay's place (top-right), as a clickjacker would. */
  async pageClicksTopRight(): Promise<string> {
    return this.page.evaluate(() => {
      const target = document.elementFromPoint(window.innerWidth - 100, 60);
      (target as HTMLElement | null)?.click();
      return target?.tagName.toLowerCase() ?? 'nothing';
    });
  }
}

/** The window message a page posts to itself to know that everything posted before has arrived. */
const MARKER = 'switchboard-test:marker';

/**
 * What the watching script of a page under `/watched` records from before anything else runs in
 * the page: every window message, every element added that the page did not make (`data-page`
 * marks its own), and the names on `window` at that time.
 */
const WATCH_SCRIPT = `window.__seen = { messages: [], nodes: [], globals: [] };
addEventListener('message', (event) => __seen.messages.push(JSON.stringify(event.data)));
new MutationObserver((records) => {
  for (const record of records) for (const node of record.addedNodes) {
    if (node.nodeType === 1 && !node.hasAttribute('data-page')) __seen.nodes.push(node.nodeName);
  }
}).observe(document, { childList: true, subtree: true });
__seen.globals = Object.getOwnPropertyNames(window);`;

/**
 * A tiny HTTP server on 127.0.0.1 serving one ordinary page at every path: a heading and a
 * paragraph, all marked `data-page` so a test can tell the extension's additions apart. Pages
 * under `/watched` also run `WATCH_SCRIPT` first thing (see `WebTab.signalsSeen`).
 */
export async function startWebPages(): Promise<{ readonly url: (path: string) => string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const watched = request.url?.startsWith('/watched') ?? false;
    response.setHeader('content-type', 'text/html; charset=utf-8');
    response.end(
      `<!doctype html><html lang="en" data-page><head data-page>` +
        (watched ? `<script data-page>${WATCH_SCRIPT}</script>` : '') +
        `<title data-page>Page ${request.url}</title></head>` +
        `<body data-page><h1 data-page>Ordinary page ${request.url}</h1><p data-page>Nothing to see here.</p></body></html>`,
    );
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', () => listening()));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the page server has no address');
  return {
    url: (path) => `http://127.0.0.1:${address.port}${path}`,
    close: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}
