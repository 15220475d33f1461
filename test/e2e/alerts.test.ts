/**
 * Price alerts in the built extension, in Chromium, against a real server process on the SQLite
 * store: alerts created in the popup while the service worker is offline wait in the outbox as
 * `Pending sync` and reach the server exactly once when it is back; a price that crosses one of
 * them shows one overlay, in the focused tab only, that the page's own scripts cannot read or
 * press; dismissing it removes it everywhere and marks it read; and stopping the service worker
 * while the outbox is flushing (its acks held back on the way) still creates each alert once.
 * Later tests stand on the steps of earlier ones (`step`), so each also runs alone.
 *
 * The extension reaches the server through a proxy that can hold back what the server sends, so a
 * step can stop the worker after the server applied a message but before its ack arrived.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ServerAlert } from '../../lib/wire/alerts';
import { launchChromiumWithExtension, type ExtensionBrowser } from '../support/chromium';
import { OptionsPage } from '../support/pages/options';
import { PopupPage, type AlertInput } from '../support/pages/popup';
import { startWebPages, WebTab } from '../support/pages/web-tab';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { step } from '../support/steps';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

const USER = 'ann';
/** How long the proxy holds back what the server sends while the worker is stopped mid-flush. */
const ACK_DELAY_MS = 500;
/** The alerts the steps make fire. */
const FIRED = new Set(['AAPL above 250', 'MSFT below 300']);

let server: ServerProcess;
let proxy: TcpProxy;
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

/**
 * Expects each web tab (in order) to show `expected` overlays, and no more to be on their way (a
 * second show, or one for the wrong tab): every tab has handled all the service worker sent it.
 */
async function expectOverlays(expected: readonly number[]): Promise<void> {
  await browser.reachTabs();
  expect(await Promise.all(tabs.map((tab) => tab.overlayFramesInDom()))).toEqual(expected);
  expect(tabs.map((tab) => tab.overlayFrames().length)).toEqual(expected);
}

const OFFLINE_ALERTS: readonly (AlertInput & { readonly words: string })[] = [
  { symbol: 'AAPL', condition: 'above', price: '250', words: 'AAPL above 250' },
  { symbol: 'MSFT', condition: 'below', price: '300', note: 'buy the dip', words: 'MSFT below 300' },
  { symbol: 'NVDA', condition: 'percent move', percent: '40', windowMinutes: '60', repeat: 'recurring', cooldownMinutes: '30', words: 'NVDA moves 40% within 60 min' },
];

beforeAll(async () => {
  server = await spawnServerProcess();
  proxy = await startTcpProxy({ port: server.port });
  pages = await startWebPages();
  browser = await launchChromiumWithExtension();
});

afterAll(async () => {
  await browser?.close();
  await pages?.close();
  await proxy?.close();
  await server?.dispose();
});

const connected = step(async () => {
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

const offlineAlertsSynced = step(async () => {
  await connected();
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

const overlayShown = step(async () => {
  await offlineAlertsSynced();
  for (const path of ['/news', '/mail', '/docs']) tabs.push(await WebTab.open(browser, pages.url(path)));
  const focused = tabs[1]!;
  await focused.bringToFront();

  await server.publishPrice('AAPL', 251.5);
  const frame = await focused.waitForOverlay('AAPL above 250');
  expect(await frame.getByRole('alert').textContent()).toContain('AAPL above 250');
  await popup.waitForAlerts(OFFLINE_ALERTS.map((a) => ({ rule: a.words, state: a.symbol === 'AAPL' ? 'Fired' : 'Active' })));
  await popup.waitForTitles(['AAPL above 250']);
  await expectOverlays([0, 1, 0]);
});

const overlayDismissed = step(async () => {
  await overlayShown();
  const focused = tabs[1]!;
  const frame = await focused.waitForOverlay('AAPL above 250');
  // A real click at the button's place in the page, not `locator.click()`: the click removes the
  // very frame it lands in, and Playwright then sometimes waits on that frame until it times out.
  const box = await frame.getByRole('button', { name: 'Dismiss' }).boundingBox();
  if (!box) throw new Error('the Dismiss button has no box');
  await focused.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  for (const tab of tabs) await tab.waitForNoOverlay();
  await popup.waitForUnread('AAPL above 250', false);
  await expectOverlays([0, 0, 0]);
});

const systemNotificationShown = step(async () => {
  await overlayDismissed();
  // The popup's tab is an extension page: no content script can show an overlay there.
  await popup.page.bringToFront();
  expect(await browser.systemNotifications()).toEqual([]);
  await server.publishPrice('MSFT', 290);
  await popup.waitForTitles(['MSFT below 300', 'AAPL above 250']);
  await expect.poll(() => browser.systemNotifications(), { timeout: 30_000 }).toHaveLength(1);
  // The worker tried the tab in front before it made the system notification: any overlay it sent
  // is ahead of the probe.
  await expectOverlays([0, 0, 0]);
});

describe('price alerts: offline outbox, one overlay in the focused tab', () => {
  test('the options page points the hub at the server; the server knows the symbols', connected);

  test('three alerts created while the service worker is offline show as pending, then sync exactly once', offlineAlertsSynced);

  test('the form refuses bad rules before queueing', async () => {
    await offlineAlertsSynced();
    await expect(popup.createAlert({ symbol: 'XYZ', condition: 'above', price: '10' })).rejects.toThrow('Unknown symbol XYZ');
    await expect(popup.createAlert({ symbol: 'AAPL', condition: 'above', price: 'NaN' })).rejects.toThrow('Price must be a number');
    await expect(popup.createAlert({ symbol: 'NVDA', condition: 'percent move', percent: '5', windowMinutes: '-5' })).rejects.toThrow(
      'Window must be at least 1 minute',
    );
    expect(await popup.alerts()).toHaveLength(3);
    expect(await serverAlerts()).toHaveLength(3);
  });

  test('a price crossing one alert shows one overlay, in the focused tab only', overlayShown);

  test("the page's own scripts can neither read the overlay nor press it", async () => {
    await overlayShown();
    const focused = tabs[1]!;
    const view = await focused.pageView();
    // The page finds one element it did not make, with no readable shadow root, frame or text.
    expect(view.text).not.toContain('AAPL');
    expect(view.foreignElements).toBe(1);
    expect(view.openShadowRoots).toBe(0);
    expect(view.iframes).toBe(0);
    // Frames inside a shadow root are not the page's `window[i]` either: there is none to read.
    expect(view.frames).toEqual([]);
    // Even handed the frame element, the page reads nothing through it: it is cross-origin.
    const frame = await focused.waitForOverlay('AAPL above 250');
    expect(await focused.pageReadsFrame(frame)).toEqual({ contentDocument: null, windowDocument: 'SecurityError' });
    // Whatever the page clicks at the overlay's place is the overlay's host in its own DOM: a click
    // there cannot reach into the cross-origin frame, and the overlay stays.
    expect(await focused.pageClicksTopRight()).toBe('switchboard-overlay');
    await focused.waitForOverlay('AAPL above 250', 1000);
  });

  test('dismissing it removes it everywhere and the feed shows it read', overlayDismissed);

  test('with no web page in front the alert becomes a system notification, and no overlay', systemNotificationShown);

  test('stopping the service worker while the outbox flushes still creates each alert exactly once', async () => {
    const more: (AlertInput & { readonly words: string })[] = [
      { symbol: 'AAPL', condition: 'below', price: '150', words: 'AAPL below 150' },
      { symbol: 'MSFT', condition: 'above', price: '500', words: 'MSFT above 500' },
      { symbol: 'NVDA', condition: 'crossing', price: '90', words: 'NVDA crossing 90' },
      { symbol: 'AAPL', condition: 'crossing', price: '100', words: 'AAPL crossing 100' },
      { symbol: 'MSFT', condition: 'below', price: '250', words: 'MSFT below 250' },
    ];
    await systemNotificationShown();
    // Back to the popup's tab, as a person would (a background tab also renders slowly).
    await popup.page.bringToFront();
    await browser.setServiceWorkerOffline(true);
    await popup.waitForStatus('Offline');
    for (const alert of more) await popup.createAlert(alert);
    const before = (await serverAlerts()).length;
    expect(before).toBe(3);

    // Every ack now comes back ACK_DELAY_MS late: each message sits applied on the server but
    // unacknowledged for that long.
    proxy.delayToClients(ACK_DELAY_MS);
    await browser.setServiceWorkerOffline(false);
    for (const applied of [before + 1, before + 3]) {
      await expect.poll(async () => (await serverAlerts()).length, { timeout: 30_000, interval: 10 }).toBeGreaterThanOrEqual(applied);
      // Applied, its ack still held in the proxy: the worker dies without it.
      await browser.stopServiceWorkers();
    }
    proxy.delayToClients(0);

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
