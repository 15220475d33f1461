/**
 * Debian Chromium with the built extension (`.output/chrome-mv3`), launched through playwright-core
 * on a fresh profile (or a given one, to relaunch the browser on the same profile), as
 * BROWSER-TESTING.md describes. Gives the extension id, its service worker, a way to stop that
 * worker the way Chrome does when it is idle, the toolbar badge, the system notifications shown,
 * and network emulation on the worker itself.
 *
 * Playwright cannot open a CDP session on a worker (`newCDPSession` takes a page or frame), and a
 * persistent context has no browser-level session, so the browser also listens for DevTools on an
 * ephemeral 127.0.0.1 port and `setServiceWorkerOffline` attaches to the worker's target there.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import WebSocket from 'ws';
import { poll } from './poll';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Where `npm run build` puts the Chrome extension. */
export const CHROME_EXTENSION_DIR = resolve(repoRoot, '.output/chrome-mv3');

export interface ExtensionBrowser {
  readonly context: BrowserContext;
  /** The host of the extension's `chrome-extension://` URLs. */
  readonly extensionId: string;
  /** `chrome-extension://ID/<path>`. */
  url(path: string): string;
  /** The background service worker (the same handle evaluates in a restarted worker). */
  serviceWorker(): Promise<Worker>;
  /** Stops every service worker through CDP, as Chrome does with an idle one. */
  stopServiceWorkers(): Promise<void>;
  /**
   * CDP `Network.emulateNetworkConditions` on the extension's service-worker target: offline, its
   * `navigator.onLine` is false, new connections fail and frames on an open WebSocket are held.
   */
  setServiceWorkerOffline(offline: boolean): Promise<void>;
  /** The toolbar badge's text (`chrome.action.getBadgeText`, read in the service worker). */
  badgeText(): Promise<string>;
  /** Re-reads the badge until it shows `text`; rejects after `timeoutMs` (default 30 000) saying what it showed. */
  waitForBadge(text: string, timeoutMs?: number): Promise<void>;
  /** Ids of the extension's system notifications now shown (`chrome.notifications.getAll`, read in the service worker). */
  systemNotifications(): Promise<string[]>;
  /**
   * Resolves once the content scripts of every tab have handled all the service worker sent them so
   * far: the worker sends each tab a message no script acts on and waits until it was taken, and
   * its messages to a tab arrive in the order it sent them.
   */
  reachTabs(): Promise<void>;
  /** A new tab at `url(path)`, loaded. */
  openExtensionPage(path: string): Promise<Page>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** The unpacked extension. Default `.output/chrome-mv3`. */
  readonly extensionDir: string;
  /** Default `/usr/bin/chromium`, or `CHROMIUM_PATH`. */
  readonly executablePath: string;
  /**
   * The profile directory. Default a fresh temporary one, deleted by `close()`; a given one is kept,
   * so the browser can be launched again on the same profile (and the caller deletes it).
   */
  readonly userDataDir: string;
}


/**
 * Debian Chromium's switches for an unpacked extension here: no sandbox or GPU in the container,
 * none of the background network Chromium would keep trying (the network is closed), and a CDP
 * port on 127.0.0.1 that Chromium picks and writes to `<profile>/DevToolsActivePort`.
 */
export function chromiumExtensionArgs(extensionDir: string): string[] {
  return [
    '--no-sandbox',
    '--disable-gpu',
    `--disable-extensions-except=${extensionDir}`,
    `--load-extension=${extensionDir}`,
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync',
    '--remote-debugging-address=127.0.0.1',
    '--remote-debugging-port=0',
  ];
}

export async function launchChromiumWithExtension(options: Readonly<Partial<LaunchOptions>> = {}): Promise<ExtensionBrowser> {
  const extensionDir = options.extensionDir ?? CHROME_EXTENSION_DIR;
  if (!existsSync(join(extensionDir, 'manifest.json'))) {
    throw new Error(`No built extension in ${extensionDir}: run \`npm run build\` first`);
  }
  const profile = options.userDataDir ?? mkdtempSync(join(tmpdir(), 'switchboard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: options.executablePath ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    // The debugging port is for `setServiceWorkerOffline`; it is written to `<profile>/DevToolsActivePort`.
    args: chromiumExtensionArgs(extensionDir),
  });
  const serviceWorker = async (): Promise<Worker> => context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  const extensionId = new URL((await serviceWorker()).url()).host;
  const url = (path: string): string => `chrome-extension://${extensionId}/${path}`;
  let workerCdp: Promise<BrowserCdp> | null = null;
  /** One session per worker target, so turning emulation off undoes what that session turned on. */
  let workerSession: { readonly targetId: string; readonly sessionId: string } | null = null;

  const badgeText = async (): Promise<string> =>
    (await serviceWorker()).evaluate(() => (globalThis as unknown as ChromeGlobal).chrome.action.getBadgeText({}));

  return {
    context,
    extensionId,
    url,
    serviceWorker,
    async stopServiceWorkers() {
      const page = context.pages()[0] ?? (await context.newPage());
      const cdp = await context.newCDPSession(page);
      try {
        await cdp.send('ServiceWorker.enable');
        await cdp.send('ServiceWorker.stopAllWorkers');
      } finally {
        await cdp.detach();
      }
    },
    async setServiceWorkerOffline(offline) {
      workerCdp ??= openBrowserCdp(profile);
      const cdp = await workerCdp;
      const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: TargetInfo[] };
      const target = targetInfos.find((info) => info.type === 'service_worker' && info.url.startsWith(url('')));
      if (!target) throw new Error('the extension has no running service worker to take offline');
      if (workerSession?.targetId !== target.targetId) {
        const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: true })) as { sessionId: string };
        await cdp.send('Network.enable', {}, sessionId);
        workerSession = { targetId: target.targetId, sessionId };
      }
      const conditions = { offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1 };
      await cdp.send('Network.emulateNetworkConditions', conditions, workerSession.sessionId);
    },
    badgeText,
    async waitForBadge(text, timeoutMs = 30_000) {
      // `chrome.action` has no event for a badge change: re-read it.
      let shown = '';
      await poll(
        () => `the badge to show ${JSON.stringify(text)} (it shows ${JSON.stringify(shown)})`,
        async () => (shown = await badgeText()) === text,
        { timeoutMs },
      );
    },
    async systemNotifications() {
      const worker = await serviceWorker();
      const shown = await worker.evaluate(() => (globalThis as unknown as ChromeGlobal).chrome.notifications.getAll());
      return Object.keys(shown);
    },
    async reachTabs() {
      const worker = await serviceWorker();
      await worker.evaluate(async () => {
        const { tabs } = (globalThis as unknown as ChromeGlobal).chrome;
        const all = await tabs.query({});
        // A tab with no content script rejects; one whose script answers nothing resolves: either way it is through.
        await Promise.all(all.map((tab) => tabs.sendMessage(tab.id!, { type: 'switchboard-test:probe' }).catch(() => undefined)));
      });
    },
    async openExtensionPage(path) {
      const page = await context.newPage();
      await page.goto(url(path));
      return page;
    },
    async close() {
      if (workerCdp) (await workerCdp.catch(() => null))?.close();
      await context.close();
      if (!options.userDataDir) rmSync(profile, { recursive: true, force: true });
    },
  };
}

interface ChromeGlobal {
  readonly chrome: {
    readonly action: { getBadgeText(details: object): Promise<string> };
    readonly notifications: { getAll(): Promise<Record<string, boolean>> };
    readonly tabs: {
      query(query: object): Promise<Array<{ id?: number }>>;
      sendMessage(tabId: number, message: unknown): Promise<unknown>;
    };
  };
}

interface TargetInfo {
  readonly targetId: string;
  readonly type: string;
  readonly url: string;
}

/** A raw CDP connection to the whole browser, with flat sessions for attached targets. */
interface BrowserCdp {
  send(method: string, params?: object, sessionId?: string): Promise<unknown>;
  close(): void;
}

async function openBrowserCdp(profile: string): Promise<BrowserCdp> {
  const [port] = readFileSync(join(profile, 'DevToolsActivePort'), 'utf8').split('\n');
  const version = (await (await fetch(`http://127.0.0.1:${port}/json/version`)).json()) as { webSocketDebuggerUrl: string };
  const socket = new WebSocket(version.webSocketDebuggerUrl);
  await new Promise<void>((open, fail) => {
    socket.once('open', () => open());
    socket.once('error', fail);
  });
  let nextId = 0;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    const call = message.id === undefined ? undefined : pending.get(message.id);
    if (!call) return;
    pending.delete(message.id!);
    if (message.error) call.reject(new Error(`CDP: ${message.error.message}`));
    else call.resolve(message.result);
  });
  socket.on('close', () => {
    for (const call of pending.values()) call.reject(new Error('CDP connection closed'));
    pending.clear();
  });
  return {
    send(method, params = {}, sessionId) {
      nextId += 1;
      const id = nextId;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
      });
    },
    close: () => socket.close(),
  };
}
