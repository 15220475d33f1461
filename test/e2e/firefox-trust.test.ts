/**
 * The trust model in the Firefox build (MV2, Firefox ESR over WebDriver BiDi), against a real server
 * process: code in the extension's content-script sandbox of a web page (put there with
 * `tabs.executeScript`, see `../support/firefox-content-script.ts`) cannot read the access token,
 * in `storage.local` or anywhere else it can reach, cannot reach the hub through a port, and cannot
 * pollute the background page's `Object.prototype`. Later tests stand on the steps of earlier ones
 * (`step`), so each also runs alone.
 */
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchFirefoxWithExtension, type FirefoxExtension } from '../support/firefox';
import { grantHostPermission, runInContentScript } from '../support/firefox-content-script';
import { FirefoxOptionsPage } from '../support/pages/firefox-options';
import { startWebPages } from '../support/pages/web-tab';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { step } from '../support/steps';

const USER = 'ann';

let server: ServerProcess;
let pages: Awaited<ReturnType<typeof startWebPages>>;
let firefox: FirefoxExtension;
let token: string;
let options: FirefoxOptionsPage;
let pageUrl: string;

beforeAll(async () => {
  server = await spawnServerProcess();
  pages = await startWebPages();
  firefox = await launchFirefoxWithExtension();
});

afterAll(async () => {
  await firefox?.close();
  await pages?.close();
  await server?.dispose();
});

/** Connected with the user's token; the options page stays open to run code from. */
const connected = step(async () => {
  token = await server.mintToken(USER);
  options = await FirefoxOptionsPage.open(firefox);
  await options.save({ serverUrl: server.url, token });
  await options.waitForStatus('Connected');
});

/** A web page in a tab, whose content-script sandbox the tests can run code in. */
const pageOpen = step(async () => {
  await connected();
  pageUrl = pages.url('/news');
  const page = await firefox.browser.newPage();
  await page.goto(pageUrl, { waitUntil: 'load' });
  await grantHostPermission(firefox.browser, firefox.geckoId, ['http://127.0.0.1/*']);
});

const inContentScript = <T>(code: string): Promise<T> => runInContentScript<T>(options.page, pageUrl, code);

/** Whether the background page's `Object.prototype` carries `polluted`, read from an extension page (MV2: same process). */
function backgroundPolluted(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const { extension } = (globalThis as unknown as { browser: { extension: { getBackgroundPage(): Window & typeof globalThis } } }).browser;
    const background = extension.getBackgroundPage();
    return background.Object.prototype.hasOwnProperty.call(background.Object.prototype, 'polluted');
  });
}

describe('the trust model in Firefox', () => {
  test('the token is unreadable from its content scripts', async () => {
    await pageOpen();
    const seen = await inContentScript<string>(`(async () => JSON.stringify({
      where: location.origin,
      local: await browser.storage.local.get(null),
      sync: await browser.storage.sync.get(null).catch((error) => 'refused: ' + error.message),
      databases: (await indexedDB.databases()).map((db) => db.name),
    }))()`);
    expect(JSON.parse(seen)).toMatchObject({ where: new URL(pageUrl).origin, local: {}, databases: [] });
    expect(seen).not.toContain(token);
    // Where it is: in the extension origin's IndexedDB, which the extension's own pages can open.
    const kept = await options.page.evaluate(
      () =>
        new Promise<string | null>((resolve, reject) => {
          const request = indexedDB.open('switchboard-settings');
          request.onerror = () => reject(request.error);
          request.onsuccess = () => {
            const read = request.result.transaction('settings').objectStore('settings').get('settings');
            read.onsuccess = () => resolve((read.result as { token?: string } | undefined)?.token ?? null);
          };
        }),
    );
    expect(kept).toBe(token);
  });

  test('its content scripts reach no hub method and cannot pollute the background page', async () => {
    await pageOpen();
    const probe = (message: unknown) => `new Promise((resolve) => {
      const port = browser.runtime.connect({ name: 'switchboard-hub' });
      port.onDisconnect.addListener(() => resolve('disconnected'));
      port.onMessage.addListener((answer) => resolve(JSON.stringify(answer)));
      port.postMessage(${JSON.stringify(message)});
    })`;
    const settings = await inContentScript<string>(probe({ id: 'g', type: 'APPLY', path: ['getSettings'], argumentList: [] }));
    const pollute = await inContentScript<string>(probe({ id: 'p', type: 'SET', path: ['__proto__', 'polluted'], value: { type: 'RAW', value: 'yes' } }));
    expect(await backgroundPolluted(options.page)).toBe(false);
    expect({ settings, pollute }).toEqual({ settings: 'disconnected', pollute: 'disconnected' });
    await options.waitForStatus('Connected');
  });
});
