/**
 * The Firefox build (MV2, persistent background page) in Debian's Firefox ESR, driven over
 * WebDriver BiDi with puppeteer-core, against a real server process on the SQLite store: three
 * popup tabs share one WebSocket and show live prices; notifications published while the server
 * was down show up exactly once, in order, after it restarts; and a price crossing an alert made in
 * the popup shows one overlay, in the focused web tab only. Later tests stand on the steps of
 * earlier ones (`step`), so each also runs alone.
 *
 * The extension reaches the server through a TCP proxy (`startTcpProxy`), so the restart step can
 * keep it away from the restarted server until it has published, instead of racing its backoff.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchFirefoxWithExtension, type FirefoxExtension } from '../support/firefox';
import { FirefoxOptionsPage } from '../support/pages/firefox-options';
import { FirefoxPopupPage } from '../support/pages/firefox-popup';
import { FirefoxWebTab } from '../support/pages/firefox-web-tab';
import { startWebPages } from '../support/pages/web-tab';
import { CONNECTIONS, publishNotifications, publishPriceAndSee } from '../support/publish';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { step } from '../support/steps';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

const USER = 'ann';
const POPUPS = 3;
const POLL = { timeout: 30_000, interval: 50 } as const;

let server: ServerProcess;
let proxy: TcpProxy;
let pages: Awaited<ReturnType<typeof startWebPages>>;
let firefox: FirefoxExtension;
const popups: FirefoxPopupPage[] = [];
/** Notification titles in the order they were published. */
const published: string[] = [];

/** Every popup shows every notification exactly once, newest first, and no gap notice. */
async function expectFeedEverywhere(): Promise<void> {
  const newestFirst = [...published].reverse();
  for (const popup of popups) {
    await expect.poll(() => popup.titles(), POLL).toEqual(newestFirst);
    expect((await popup.feed()).filter((row) => row.kind === 'gap')).toEqual([]);
  }
}

/**
 * Expects each tab (in order) to show `expected` overlays, and no more to be on their way (a second
 * show, or one for the wrong tab): every tab has handled all the extension sent it so far.
 */
async function expectOverlays(popup: FirefoxPopupPage, tabs: readonly FirefoxWebTab[], expected: readonly number[]): Promise<void> {
  await popup.reachTabs();
  expect(await Promise.all(tabs.map((tab) => tab.overlayHosts()))).toEqual(expected.map((count) => Math.min(count, 1)));
  expect(await Promise.all(tabs.map(async (tab) => (await tab.overlayFrames()).length))).toEqual(expected);
}

beforeAll(async () => {
  server = await spawnServerProcess();
  proxy = await startTcpProxy({ port: server.port });
  pages = await startWebPages();
  firefox = await launchFirefoxWithExtension();
});

afterAll(async () => {
  await firefox?.close();
  await pages?.close();
  await proxy?.close();
  await server?.dispose();
});

const connected = step(async () => {
  const options = await FirefoxOptionsPage.open(firefox);
  await options.waitForStatus('no access token');
  expect(await server.metric(CONNECTIONS)).toBe(0);
  await options.save({ serverUrl: proxy.url, token: await server.mintToken(USER) });
  await options.waitForStatus('Connected');
  await options.page.close();
  expect(await server.waitForMetric(CONNECTIONS, (n) => n === 1)).toBe(1);
});

const popupsOpen = step(async () => {
  await connected();
  for (let i = 0; i < POPUPS; i += 1) popups.push(await FirefoxPopupPage.open(firefox));
  for (const popup of popups) await popup.waitForStatus('Connected');
  await publishPriceAndSee(server, popups, 'AAPL', 101.25);
  await publishPriceAndSee(server, popups, 'MSFT', 402.5);
  await publishPriceAndSee(server, popups, 'AAPL', 99.75);
  const rows = await popups[0]!.prices();
  expect(rows.AAPL).toContain('99.75');
  expect(rows.AAPL).toContain('▼');
  expect(rows.MSFT).toContain('402.50');
  expect(await server.metric(CONNECTIONS)).toBe(1);
});

describe('Switchboard in Firefox ESR (MV2)', () => {
  test('with no token the add-on stays offline; the options page connects it', connected);

  test('three popup tabs show live prices over exactly one WebSocket', popupsOpen);

  test('notifications published while the server is down appear once each, in order, after it restarts', async () => {
    await popupsOpen();
    await publishNotifications(server, USER, published, 'Before the restart');
    await expectFeedEverywhere();

    await server.kill('SIGKILL');
    const away = await popups[0]!.waitForStatusNot('Connected');
    expect(away).toMatch(/Reconnecting|Connecting/);
    // Keep the extension away from the restarted server until everything is published.
    proxy.unplug();
    await server.restart();
    await publishNotifications(server, USER, published, 'While down: first', 'While down: second', 'While down: third');
    expect(await server.metric(CONNECTIONS)).toBe(0);
    expect((await popups[0]!.titles()).filter((title) => title.startsWith('While down'))).toEqual([]);

    proxy.plug();
    for (const popup of popups) await popup.waitForStatus('Connected');
    await expectFeedEverywhere();
    expect(await server.waitForMetric(CONNECTIONS, (n) => n === 1)).toBe(1);
    // A live one after the replay: had anything been replayed twice, it would be in the list too.
    await publishNotifications(server, USER, published, 'After the restart');
    await expectFeedEverywhere();
  });

  test('an alert created in the popup shows one overlay, in the focused web tab only', async () => {
    await popupsOpen();
    // The killed server may not have saved its last prices yet; it refuses alerts on symbols it has not seen.
    await publishPriceAndSee(server, popups, 'AAPL', 200);
    const popup = popups[0]!;
    await popup.page.bringToFront();
    await popup.createAlert({ symbol: 'AAPL', condition: 'above', price: '250' });
    await expect.poll(() => popup.alerts(), POLL).toEqual(['AAPL above 250 | Active']);
    const held = await server.alerts(USER);
    expect(held.map(({ rule }) => `${rule.symbol} ${rule.condition} ${rule.price}`)).toEqual(['AAPL above 250']);

    const tabs = [await FirefoxWebTab.open(firefox, pages.url('/news')), await FirefoxWebTab.open(firefox, pages.url('/mail'))];
    const focused = tabs[1]!;
    await focused.bringToFront();

    await server.publishPrice('AAPL', 251.5);
    const frame = await focused.waitForOverlay('AAPL above 250');
    published.push('AAPL above 250');
    await expectFeedEverywhere();
    await expect.poll(() => popup.alerts(), POLL).toEqual(['AAPL above 250 | Fired']);
    expect(await focused.overlayTexts()).toEqual([expect.stringContaining('AAPL above 250')]);
    await expectOverlays(popup, tabs, [0, 1]);

    // Reading the popups brought them to the front: back to the web tab, as a person would, to dismiss it.
    await focused.bringToFront();
    await focused.dismiss(frame);
    await focused.waitForNoOverlay();
    await expect.poll(async () => (await popup.feed()).find((row) => row.text === 'AAPL above 250')?.unread, POLL).toBe(false);
    await expectOverlays(popup, tabs, [0, 0]);
  });
});
