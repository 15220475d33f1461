/**
 * Price alerts in the built extension, in Chromium, against a real server process on the SQLite
 * store: alerts created in the popup while the service worker is offline wait in the outbox as
 * `Pending sync` and reach the server exactly once when it is back; a price that crosses one of
 * them shows one overlay, in the focused tab only, that the page's own scripts cannot read or
 * press; dismissing it removes it everywhere and marks it read; and stopping the service worker
 * while the outbox is flushing (its acks held back on the way) still creates each alert once.
 * The steps run in order and build on each other.
 *
 * The extension reaches the server through a proxy that can hold back what the server sends, so a
 * step can stop the worker after the server applied a message but before its ack arrived.
 */
import { connect, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ServerAlert } from '../../lib/wire/alerts';
import { launchChromiumWithExtension, type ExtensionBrowser } from '../support/chromium';
import { OptionsPage } from '../support/pages/options';
import { PopupPage, type AlertInput } from '../support/pages/popup';
import { startWebPages, WebTab } from '../support/pages/web-tab';
import { spawnServerProcess, type ServerProcess } from '../support/server';

const USER = 'ann';
/** How long the proxy holds back what the server sends while the worker is stopped mid-flush. */
const ACK_DELAY_MS = 500;
/** The alerts the steps make fire. */
const FIRED = new Set(['AAPL above 250', 'MSFT below 300']);

let server: ServerProcess;
let proxy: DelayProxy;
let pages: Awaited<ReturnType<typeof startWebPages>>;
let browser: ExtensionBrowser;
let popup: PopupPage;
const tabs: WebTab[] = [];

/** The user's alerts as the server holds them (`GET /api/alerts?user=`). */
const serverAlerts = (): Promise<ServerAlert[]> => server.alerts(USER);

/** Rules the server holds, as `describeRule` words would read them, sorted. */
async function serverRules(): Promise<string[]> {
  return (await serverAlerts())
    .map(({ rule }) => (rule.condition === 'percent-move' ? `${rule.symbol} moves ${rule.percent}% within ${rule.windowMinutes} min` : `${rule.symbol} ${rule.condition} ${rule.price}`))
    .sort();
}

const OFFLINE_ALERTS: readonly (AlertInput & { readonly words: string })[] = [
  { symbol: 'AAPL', condition: 'above', price: '250', words: 'AAPL above 250' },
  { symbol: 'MSFT', condition: 'below', price: '300', note: 'buy the dip', words: 'MSFT below 300' },
  { symbol: 'NVDA', condition: 'percent move', percent: '40', windowMinutes: '60', repeat: 'recurring', cooldownMinutes: '30', words: 'NVDA moves 40% within 60 min' },
];

beforeAll(async () => {
  server = await spawnServerProcess();
  proxy = await startDelayProxy(server.port);
  pages = await startWebPages();
  browser = await launchChromiumWithExtension();
});

afterAll(async () => {
  await browser?.close();
  await pages?.close();
  await proxy?.close();
  await server?.dispose();
});

describe('price alerts: offline outbox, one overlay in the focused tab', () => {
  test('the options page points the hub at the server; the server knows the symbols', async () => {
    for (const [symbol, price] of [
      ['AAPL', 200],
      ['MSFT', 400],
      ['NVDA', 120],
    ] as const) {
      await server.publishPrice(symbol, price);
    }
    const options = await OptionsPage.open(browser);
    await options.save({ serverUrl: proxy.url, token: await server.mintToken(USER) });
    await options.waitForStatus('Connected');
    await options.page.close();
  });

  test('three alerts created while the service worker is offline show as pending, then sync exactly once', async () => {
    popup = await PopupPage.open(browser);
    await popup.waitForStatus('Connected');
    await popup.waitForPrice('NVDA', '120.00');

    await browser.setServiceWorkerOffline(true);
    await popup.waitForStatus('Offline');
    for (const alert of OFFLINE_ALERTS) await popup.createAlert(alert);
    await popup.waitForAlerts(OFFLINE_ALERTS.map((a) => ({ rule: a.words, state: 'Pending sync' })));
    expect(await serverAlerts()).toEqual([]);

    await browser.setServiceWorkerOffline(false);
    await popup.waitForStatus('Connected');
    await popup.waitForAlerts(OFFLINE_ALERTS.map((a) => ({ rule: a.words, state: 'Active' })));
    expect(await serverRules()).toEqual(OFFLINE_ALERTS.map((a) => a.words).sort());
    const held = await serverAlerts();
    expect(held).toHaveLength(3);
    expect(held.find((a) => a.rule.symbol === 'MSFT')?.rule.note).toBe('buy the dip');
  });

  test('the form refuses bad rules before queueing', async () => {
    await expect(popup.createAlert({ symbol: 'XYZ', condition: 'above', price: '10' })).rejects.toThrow('Unknown symbol XYZ');
    await expect(popup.createAlert({ symbol: 'AAPL', condition: 'above', price: 'NaN' })).rejects.toThrow('Price must be a number');
    await expect(popup.createAlert({ symbol: 'NVDA', condition: 'percent move', percent: '5', windowMinutes: '-5' })).rejects.toThrow(
      'Window must be at least 1 minute',
    );
    expect(await popup.alerts()).toHaveLength(3);
    expect(await serverAlerts()).toHaveLength(3);
  });

  test('a price crossing one alert shows one overlay, in the focused tab only', async () => {
    for (const path of ['/news', '/mail', '/docs']) tabs.push(await WebTab.open(browser, pages.url(path)));
    const focused = tabs[1]!;
    await focused.bringToFront();

    await server.publishPrice('AAPL', 251.5);
    const frame = await focused.waitForOverlay('AAPL above 250');
    expect(await frame.getByRole('alert').textContent()).toContain('AAPL above 250');
    await popup.waitForAlerts(OFFLINE_ALERTS.map((a) => ({ rule: a.words, state: a.symbol === 'AAPL' ? 'Fired' : 'Active' })));
    // The feed has the alert too; give any stray overlay time to appear before looking.
    await popup.waitForTitles(['AAPL above 250']);
    await focused.page.waitForTimeout(500);
    expect(focused.overlayFrames()).toHaveLength(1);
    for (const tab of tabs) if (tab !== focused) expect(tab.overlayFrames(), tab.page.url()).toHaveLength(0);
  });

  test("the page's own scripts can neither read the overlay nor press it", async () => {
    const focused = tabs[1]!;
    const view = await focused.pageView();
    // The page finds one element it did not make, with no readable shadow root, frame or text.
    expect(view.text).not.toContain('AAPL');
    expect(view.foreignElements).toBe(1);
    expect(view.openShadowRoots).toBe(0);
    expect(view.iframes).toBe(0);
    for (const frame of view.frames) expect(frame).not.toContain('AAPL');
    // Even handed the frame element, the page reads nothing through it: it is cross-origin.
    const frame = await focused.waitForOverlay('AAPL above 250');
    expect(await focused.pageReadsFrame(frame)).toEqual({ contentDocument: null, windowDocument: 'SecurityError' });
    // Whatever the page clicks at the overlay's place, the overlay stays.
    await focused.pageClicksTopRight();
    await focused.page.waitForTimeout(300);
    await focused.waitForOverlay('AAPL above 250', 1000);
  });

  test('dismissing it removes it everywhere and the feed shows it read', async () => {
    const focused = tabs[1]!;
    const frame = await focused.waitForOverlay('AAPL above 250');
    // A real click at the button's place in the page, not `locator.click()`: the click removes the
    // very frame it lands in, and Playwright then sometimes waits on that frame until it times out.
    const box = await frame.getByRole('button', { name: 'Dismiss' }).boundingBox();
    if (!box) throw new Error('the Dismiss button has no box');
    await focused.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    for (const tab of tabs) await tab.waitForNoOverlay();
    await popup.waitForUnread('AAPL above 250', false);
    await popup.page.waitForTimeout(300);
    for (const tab of tabs) expect(tab.overlayFrames()).toHaveLength(0);
  });

  test('with no web page in front the alert becomes a system notification, and no overlay', async () => {
    // The popup's tab is an extension page: no content script can show an overlay there.
    await popup.page.bringToFront();
    expect(await browser.systemNotifications()).toEqual([]);
    await server.publishPrice('MSFT', 290);
    await popup.waitForTitles(['MSFT below 300', 'AAPL above 250']);
    await expect.poll(() => browser.systemNotifications()).toHaveLength(1);
    await popup.page.waitForTimeout(300);
    for (const tab of tabs) expect(tab.overlayFrames()).toHaveLength(0);
  });

  test('stopping the service worker while the outbox flushes still creates each alert exactly once', async () => {
    const more: (AlertInput & { readonly words: string })[] = [
      { symbol: 'AAPL', condition: 'below', price: '150', words: 'AAPL below 150' },
      { symbol: 'MSFT', condition: 'above', price: '500', words: 'MSFT above 500' },
      { symbol: 'NVDA', condition: 'crossing', price: '90', words: 'NVDA crossing 90' },
      { symbol: 'AAPL', condition: 'crossing', price: '100', words: 'AAPL crossing 100' },
      { symbol: 'MSFT', condition: 'below', price: '250', words: 'MSFT below 250' },
    ];
    // Back to the popup's tab, as a person would (a background tab also renders slowly).
    await popup.page.bringToFront();
    await browser.setServiceWorkerOffline(true);
    await popup.waitForStatus('Offline');
    for (const alert of more) await popup.createAlert(alert);
    const before = (await serverAlerts()).length;
    expect(before).toBe(3);

    // Every ack now takes 400 ms to come back: each message sits applied on the server but
    // unacknowledged for that long.
    proxy.delayDownstream(ACK_DELAY_MS);
    await browser.setServiceWorkerOffline(false);
    for (const applied of [before + 1, before + 3]) {
      await waitFor(async () => (await serverAlerts()).length >= applied, 30_000);
      // Applied, its ack still held in the proxy: the worker dies without it.
      await browser.stopServiceWorkers();
    }
    proxy.delayDownstream(0);

    const all = [...OFFLINE_ALERTS, ...more];
    await popup.waitForStatus('Connected');
    await popup.waitForAlerts(all.map((a) => ({ rule: a.words, state: FIRED.has(a.words) ? 'Fired' : 'Active' })));
    expect(await serverRules()).toEqual(all.map((a) => a.words).sort());
    expect(await serverAlerts()).toHaveLength(8);
    // The server saw the re-sent messages and answered them from its record instead of applying them again.
    const creates = (outcome: string) => server.metric('switchboard_client_messages_total', { kind: 'alert.create', outcome });
    expect(await creates('applied')).toBe(8);
    expect(await creates('duplicate')).toBeGreaterThanOrEqual(2);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface DelayProxy {
  readonly url: string;
  /** Holds back every byte from the server for `ms` (0: none), in order. */
  delayDownstream(ms: number): void;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 that can delay what the server sends, keeping its order. */
async function startDelayProxy(port: number): Promise<DelayProxy> {
  let delayMs = 0;
  const sockets = new Set<Socket>();
  const proxyServer = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    /** Chunks from the server with the time each may go on; one timer sends them in order. */
    const queue: { readonly at: number; readonly chunk: Buffer }[] = [];
    let timer: ReturnType<typeof setTimeout> | null = null;
    const pump = (): void => {
      timer = null;
      while (queue.length > 0 && queue[0]!.at <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (client.writable) client.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, queue[0]!.at - Date.now());
    };
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      queue.push({ at: Math.max(Date.now() + delayMs, queue.at(-1)?.at ?? 0), chunk });
      if (timer === null) pump();
    });
  });
  await new Promise<void>((listening) => proxyServer.listen(0, '127.0.0.1', () => listening()));
  const address = proxyServer.address();
  if (typeof address !== 'object' || !address) throw new Error('the proxy has no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    delayDownstream(ms) {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((closed) => {
        for (const socket of sockets) socket.destroy();
        proxyServer.close(() => closed());
      }),
  };
}
