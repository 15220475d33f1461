/**
 * Code run in the extension's content-script sandbox of a Firefox tab, to prove what a content
 * script can and cannot reach. WebDriver BiDi does not list content-script realms
 * (`script.getRealms` shows only the page's window realm; checked on Firefox ESR 153), so the code
 * goes in the way the extension itself would put it there: `tabs.executeScript`, called from one of
 * the extension's pages. Firefox runs such code in the same sandbox as the extension's declared
 * content scripts of that frame (one per extension and frame), with the same APIs.
 *
 * `executeScript` needs a host permission, which Switchboard does not ask for (its content script
 * is declared), so the helper first grants one for the tab's origin, as a user granting an optional
 * permission would: privileged code evaluated through BiDi in the browser's chrome scope (allowed
 * by `--remote-allow-system-access`, which `./puppeteer` passes) calls Firefox's
 * `ExtensionPermissions.add`. Host permissions change which pages the extension may script, not
 * what a content script can read: storage and IndexedDB access are the same with or without it.
 */
import type { Browser, Page } from 'puppeteer-core';

interface BidiAnswer {
  readonly result: {
    readonly contexts?: ReadonlyArray<{ readonly context: string }>;
    readonly type?: 'success' | 'exception';
    readonly result?: { readonly value?: unknown };
    readonly exceptionDetails?: { readonly text: string };
  };
}

/** Puppeteer's WebDriver BiDi connection (public on its BiDi `Browser`, not in its types). */
function bidi(browser: Browser): { send(method: string, params: object): Promise<BidiAnswer> } {
  return (browser as unknown as { connection: { send(method: string, params: object): Promise<BidiAnswer> } }).connection;
}

/** Grants the add-on `geckoId` the host permission `origins` (match patterns), through the chrome scope. */
export async function grantHostPermission(browser: Browser, geckoId: string, origins: readonly string[]): Promise<void> {
  const connection = bidi(browser);
  const tree = await connection.send('browsingContext.getTree', { 'moz:scope': 'chrome' });
  const chrome = tree.result.contexts?.[0]?.context;
  if (!chrome) throw new Error('no chrome-scope browsing context (is --remote-allow-system-access passed?)');
  const answer = await connection.send('script.evaluate', {
    target: { context: chrome },
    awaitPromise: true,
    expression: `(async () => {
      const { ExtensionPermissions } = ChromeUtils.importESModule('resource://gre/modules/ExtensionPermissions.sys.mjs');
      const policy = WebExtensionPolicy.getByID(${JSON.stringify(geckoId)});
      await ExtensionPermissions.add(policy.id, { permissions: [], origins: ${JSON.stringify(origins)} }, policy.extension);
      return policy.allowedOrigins.patterns.map((pattern) => pattern.pattern);
    })()`,
  });
  if (answer.result.type !== 'success') throw new Error(`granting ${origins.join(', ')} failed: ${answer.result.exceptionDetails?.text}`);
}

/**
 * Runs `code` (an expression; a promise is awaited, its value must be structured-cloneable) in
 * the content-script sandbox of the tab showing `url`, from the extension page `extensionPage`.
 * The extension needs a host permission for that tab (`grantHostPermission`).
 */
export async function runInContentScript<T>(extensionPage: Page, url: string, code: string): Promise<T> {
  return extensionPage.evaluate(
    async (wanted, source) => {
      const { tabs } = (globalThis as unknown as { browser: { tabs: TabsApi } }).browser;
      const tab = (await tabs.query({})).find((candidate) => candidate.url === wanted);
      if (tab?.id === undefined) throw new Error(`no tab shows ${wanted}`);
      const [result] = await tabs.executeScript(tab.id, { code: source });
      return result as T;
    },
    url,
    code,
  );
}

interface TabsApi {
  query(query: object): Promise<Array<{ id?: number; url?: string }>>;
  executeScript(tabId: number, details: { code: string }): Promise<unknown[]>;
}
