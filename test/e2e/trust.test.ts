/**
 * Who reaches the hub, in the built extension in Chromium against a real server process. Code in
 * the content-script world of a web page (reached through CDP, as a compromised renderer could run
 * it) cannot read the access token, wherever it is kept, cannot call any hub method through a port
 * it opens, and cannot pollute the service worker's `Object.prototype`; an extension page's own
 * port refuses Comlink requests other than method calls. A page sees no sign of the extension
 * (no window message, no element, no global) until an overlay is shown in it. Settings an earlier
 * version left in `storage.local` move to the extension's IndexedDB once. Later tests stand on the
 * steps of earlier ones (`step`), so each also runs alone.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HUB_METHOD_NAMES } from '../../lib/rpc/hub-api';
import { launchChromiumWithExtension, type ExtensionBrowser } from '../support/chromium';
import { openContentScriptWorld, type ContentScriptWorld } from '../support/content-script-world';
import { OptionsPage } from '../support/pages/options';
import { startWebPages, WebTab } from '../support/pages/web-tab';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { step } from '../support/steps';

const USER = 'ann';
const SETTINGS_DB = 'switchboard-settings';

let server: ServerProcess;
let pages: Awaited<ReturnType<typeof startWebPages>>;
let browser: ExtensionBrowser;
let token: string;
let tab: WebTab;
let world: ContentScriptWorld;

beforeAll(async () => {
  server = await spawnServerProcess();
  pages = await startWebPages();
  browser = await launchChromiumWithExtension();
});

afterAll(async () => {
  await world?.close().catch(() => {});
  await browser?.close();
  await pages?.close();
  await server?.dispose();
});

/**
 * In the content-script world: opens a port named `name` to the background, posts `message` and
 * says what came first, the port's disconnection (`disconnected`) or an answer (as JSON).
 */
const portProbe = (name: string, message: unknown): string => `new Promise((resolve) => {
  const port = chrome.runtime.connect({ name: ${JSON.stringify(name)} });
  port.onDisconnect.addListener(() => resolve('disconnected'));
  port.onMessage.addListener((answer) => resolve(JSON.stringify(answer)));
  port.postMessage(${JSON.stringify(message)});
})`;

/** The Comlink request a content script would send to poison every object in the service worker. */
const POLLUTE = { id: 'pollute', type: 'SET', path: ['__proto__', 'polluted'], value: { type: 'RAW', value: 'yes' } };

/** Whether the service worker's `Object.prototype` carries `polluted`. */
async function workerPolluted(): Promise<boolean> {
  return (await browser.serviceWorker()).evaluate(
    () => Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted') || ({} as Record<string, unknown>).polluted !== undefined,
  );
}

/** In the service worker: `storage.local` as a whole, and the token in the extension's settings database (or `null`). */
async function workerStorage(): Promise<{ local: Record<string, unknown>; idbToken: string | null }> {
  return (await browser.serviceWorker()).evaluate(async (dbName) => {
    const { chrome } = globalThis as unknown as { chrome: { storage: { local: { get(key: null): Promise<Record<string, unknown>> } } } };
    const local = await chrome.storage.local.get(null);
    const idbToken = await new Promise<string | null>((resolve, reject) => {
      const request = indexedDB.open(dbName);
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains('settings')) {
          db.close();
          resolve(null);
          return;
        }
        const read = db.transaction('settings').objectStore('settings').get('settings');
        read.onsuccess = () => {
          db.close();
          resolve((read.result as { token?: string } | undefined)?.token ?? null);
        };
        read.onerror = () => reject(read.error);
      };
    });
    return { local, idbToken };
  }, SETTINGS_DB);
}

const connected = step(async () => {
  token = await server.mintToken(USER);
  const options = await OptionsPage.open(browser);
  await options.save({ serverUrl: server.url, token });
  await options.waitForStatus('Connected');
  await options.page.close();
});

/** A watched web page whose content script is running, and its content-script world. */
const pageOpen = step(async () => {
  tab = await WebTab.open(browser, pages.url('/watched/news'));
  world = await openContentScriptWorld(tab.page);
  // Anything the content script did when it started is done once its world evaluates this.
  expect(await world.evaluate<number>('1 + 1')).toBe(2);
});

describe('the trust model in Chromium', () => {
  test('a page sees no sign of the extension before an overlay: no window message, no element, no global', async () => {
    await pageOpen();
    expect(await tab.signalsSeen()).toEqual({ messages: [], nodes: [], globals: [] });
  });

  test('once an overlay is shown, its host element is all the page sees', async () => {
    await connected();
    await pageOpen();
    await tab.bringToFront();
    await server.publishNotification(USER, { title: 'Margin call', body: 'Top up by 5pm', level: 'high' });
    await tab.waitForOverlay('Margin call');
    expect(await tab.signalsSeen()).toEqual({ messages: [], nodes: ['SWITCHBOARD-OVERLAY'], globals: [] });
  });

  test('the content-script world cannot read the token, in storage or in the extension’s IndexedDB', async () => {
    await connected();
    await pageOpen();
    const seen = await world.evaluate<string>(`(async () => JSON.stringify({
      local: await chrome.storage.local.get(null),
      sync: await chrome.storage.sync.get(null),
      session: await chrome.storage.session.get(null).then((value) => value, (error) => 'refused: ' + error.message),
      databases: (await indexedDB.databases()).map((db) => db.name),
    }))()`);
    expect(seen).not.toContain(token);
    expect(JSON.parse(seen)).toMatchObject({ databases: [], session: expect.stringMatching(/^refused: /) });
    // Opening the settings database by name opens the page's own, new and empty.
    const opened = await world.evaluate<{ created: boolean; stores: string[] }>(`new Promise((resolve, reject) => {
      let created = false;
      const request = indexedDB.open(${JSON.stringify(SETTINGS_DB)});
      request.onupgradeneeded = () => { created = true; };
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const stores = [...request.result.objectStoreNames];
        request.result.close();
        indexedDB.deleteDatabase(${JSON.stringify(SETTINGS_DB)}).onsuccess = () => resolve({ created, stores });
      };
    })`);
    expect(opened).toEqual({ created: true, stores: [] });
    // Where it is: in the extension's own IndexedDB, and not in storage.local.
    const stored = await workerStorage();
    expect(stored.idbToken).toBe(token);
    expect(JSON.stringify(stored.local)).not.toContain(token);
  });

  test('the content-script world cannot call any hub method through a port it opens', async () => {
    await connected();
    await pageOpen();
    for (const method of HUB_METHOD_NAMES) {
      const args = method === 'saveSettings' ? [{ type: 'RAW', value: { serverUrl: 'http://evil.invalid', token: 'evil' } }] : [];
      const outcome = await world.evaluate<string>(portProbe('switchboard-hub', { id: method, type: 'APPLY', path: [method], argumentList: args }));
      expect(`${method}: ${outcome}`).toBe(`${method}: disconnected`);
    }
    // Nor through a port named like a pipe for proxied callbacks.
    expect(await world.evaluate<string>(portProbe('switchboard-pipe:00000000-0000-4000-8000-000000000000', { id: 'p', type: 'APPLY', path: ['status'] }))).toBe(
      'disconnected',
    );
    // The hub still talks to the server the user chose, with the user's token.
    expect((await workerStorage()).idbToken).toBe(token);
    const options = await OptionsPage.open(browser);
    await options.waitForStatus('Connected');
    expect(await options.page.getByLabel('Server URL').inputValue()).toBe(server.url);
    await options.page.close();
  });

  test("the content-script world cannot pollute the service worker's Object.prototype", async () => {
    await connected();
    await pageOpen();
    const outcome = await world.evaluate<string>(portProbe('switchboard-hub', POLLUTE));
    expect(await workerPolluted()).toBe(false);
    expect(outcome).toBe('disconnected');
  });

  test("even an extension page's port takes only method calls: a SET through __proto__ is refused", async () => {
    await connected();
    const options = await OptionsPage.open(browser);
    await options.waitForStatus('Connected');
    const answer = await options.page.evaluate(
      (message) =>
        new Promise<string>((resolve) => {
          const { chrome } = globalThis as unknown as {
            chrome: { runtime: { connect(info: object): { postMessage(m: unknown): void; onMessage: { addListener(l: (m: unknown) => void): void } } } };
          };
          const port = chrome.runtime.connect({ name: 'switchboard-hub' });
          port.onMessage.addListener((reply) => resolve(JSON.stringify(reply)));
          port.postMessage(message);
        }),
      POLLUTE,
    );
    expect(await workerPolluted()).toBe(false);
    expect(JSON.parse(answer)).toMatchObject({ id: 'pollute', name: 'throw', value: { value: { name: 'RefusedCall' } } });
    await options.page.close();
  });

  test('settings an earlier version left in storage.local move to the extension’s IndexedDB, once', async () => {
    await connected();
    await pageOpen();
    const bobToken = await server.mintToken('bob');
    // A profile from before: the settings in storage.local, no settings database.
    await (await browser.serviceWorker()).evaluate(
      async ({ settings, dbName }) => {
        const { chrome } = globalThis as unknown as { chrome: { storage: { local: { set(items: object): Promise<void> } } } };
        await chrome.storage.local.set({ settings });
        await new Promise<void>((resolve, reject) => {
          const request = indexedDB.deleteDatabase(dbName);
          request.onsuccess = () => resolve();
          request.onerror = () => reject(request.error);
          request.onblocked = () => reject(new Error('the settings database is held open'));
        });
      },
      { settings: { serverUrl: server.url, token: bobToken }, dbName: SETTINGS_DB },
    );
    // The updated extension starts.
    await browser.stopServiceWorkers();
    const options = await OptionsPage.open(browser);
    await options.waitForStatus('Connected');
    expect(await options.page.getByLabel('Access token').inputValue()).toBe(bobToken);
    await options.page.close();
    const stored = await workerStorage();
    expect(stored).toEqual({ local: {}, idbToken: bobToken });
    expect(await world.evaluate<string>('chrome.storage.local.get(null).then(JSON.stringify)')).not.toContain(bobToken);
  });
});
