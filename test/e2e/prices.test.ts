/**
 * The built extension in Chromium against a real server process: ten popup tabs share one
 * WebSocket, and keep showing prices after Chrome stops the service worker and after the server
 * crashes and comes back on the same port. Later tests stand on the steps of earlier ones
 * (`step`), so each also runs alone.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromiumWithExtension, type ExtensionBrowser } from '../support/chromium';
import { OptionsPage } from '../support/pages/options';
import { PopupPage } from '../support/pages/popup';
import { CONNECTIONS, publishPriceAndSee } from '../support/publish';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { step } from '../support/steps';

const TABS = 10;

let server: ServerProcess;
let browser: ExtensionBrowser;
const popups: PopupPage[] = [];

beforeAll(async () => {
  server = await spawnServerProcess();
  browser = await launchChromiumWithExtension();
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

const connected = step(async () => {
  const options = await OptionsPage.open(browser);
  await options.save({ serverUrl: server.url, token: await server.mintToken('dev') });
  await options.waitForStatus('Connected');
  await options.page.close();
  expect(await server.waitForMetric(CONNECTIONS, (n) => n === 1)).toBe(1);
});

const tabsOpen = step(async () => {
  await connected();
  for (let i = 0; i < TABS; i += 1) popups.push(await PopupPage.open(browser));
  await Promise.all(popups.map((popup) => popup.waitForStatus('Connected')));
  await publishPriceAndSee(server, popups, 'AAPL', 101.25);
  await publishPriceAndSee(server, popups, 'MSFT', 402.5);
  await publishPriceAndSee(server, popups, 'AAPL', 99.75);
  const rows = await popups[0]!.prices();
  expect(rows.AAPL).toContain('▼');
  expect(rows.MSFT).toContain('402.50');
  expect(await server.metric(CONNECTIONS)).toBe(1);
});

describe('prices in ten popup tabs over one connection', () => {
  test('the options page points the hub at the test server with a minted token', connected);

  test('every tab shows prices published through the admin API, over exactly one socket', tabsOpen);

  test('after Chrome stops the service worker the hub comes back with one socket', async () => {
    await tabsOpen();
    const worker = await browser.serviceWorker();
    await worker.evaluate(() => Object.assign(globalThis, { beforeStop: true }));
    await browser.stopServiceWorkers();
    // Published while the worker is down or starting: state topics hand it over on resubscribe.
    await publishPriceAndSee(server, popups, 'AAPL', 120.5);
    expect(await worker.evaluate(() => 'beforeStop' in globalThis)).toBe(false);
    await Promise.all(popups.map((popup) => popup.waitForStatus('Connected')));
    expect(await server.waitForMetric(CONNECTIONS, (n) => n === 1)).toBe(1);
    await publishPriceAndSee(server, popups, 'MSFT', 410.75);
    expect(await server.metric(CONNECTIONS)).toBe(1);
  });

  test('after the server crashes and restarts on the same port the hub reconnects by itself', async () => {
    await tabsOpen();
    await server.kill('SIGKILL');
    const away = await popups[0]!.waitForStatusNot('Connected');
    expect(away).toMatch(/Reconnecting|Connecting/);
    await server.restart();
    await Promise.all(popups.map((popup) => popup.waitForStatus('Connected')));
    await publishPriceAndSee(server, popups, 'AAPL', 130.25);
    expect(await server.waitForMetric(CONNECTIONS, (n) => n === 1)).toBe(1);
  });
});
