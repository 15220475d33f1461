/**
 * The Firefox build (MV2, persistent background page) in Debian's Firefox ESR behind an HTTP proxy
 * that refuses WebSocket upgrades (issue 13), against a real server process on the SQLite store:
 * the hub steps down to HTTP streaming, two popup tabs say `Connected (streaming)` over the one
 * session, prices and notifications flow, notifications published while the proxy drops everything
 * show exactly once, and once the proxy allows upgrades the hub returns to WebSocket at its next
 * probe. Later tests stand on the steps of earlier ones (`step`), so each also runs alone.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectFeedOnce, expectOneConnection, publishWhileDropped, waitForTransport, type FallbackView } from '../support/fallback-journey';
import { launchFirefoxWithExtension, type FirefoxExtension } from '../support/firefox';
import { startHttpProxy, type HttpProxy } from '../support/http-proxy';
import { FirefoxOptionsPage } from '../support/pages/firefox-options';
import { FirefoxPopupPage } from '../support/pages/firefox-popup';
import { publishNotifications, publishPriceAndSee } from '../support/publish';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { step } from '../support/steps';

const USER = 'ann';
/** The hub probes WebSocket every 60 s while on HTTP; this is that and some slack. */
const PROBE_WAIT_MS = 90_000;

let server: ServerProcess;
let proxy: HttpProxy;
let firefox: FirefoxExtension;
const views: FallbackView[] = [];
/** Notification titles in the order they were published. */
const published: string[] = [];

/** A popup tab as `fallback-journey` reads it. */
const view = (page: FirefoxPopupPage): FallbackView => ({
  status: () => page.status(),
  waitForPrice: (symbol, price) => page.waitForPrice(symbol, price),
  titles: () => page.titles(),
  gaps: async () => (await page.feed()).filter((row) => row.kind === 'gap').map((row) => row.text),
});

beforeAll(async () => {
  server = await spawnServerProcess();
  proxy = await startHttpProxy({ port: server.port }, { upgrades: 'refuse' });
  firefox = await launchFirefoxWithExtension();
});

afterAll(async () => {
  await firefox?.close();
  await proxy?.close();
  await server?.dispose();
});

const onStreaming = step(async () => {
  const options = await FirefoxOptionsPage.open(firefox);
  await options.save({ serverUrl: proxy.url, token: await server.mintToken(USER) });
  await options.page.close();
  for (let i = 0; i < 2; i += 1) views.push(view(await FirefoxPopupPage.open(firefox)));
  await waitForTransport(views, 'streaming');
  expect(await views[0]!.status()).toBe('Connected (streaming)');
  await expectOneConnection(server, 'streaming');
  expect(proxy.counts().refused).toBeGreaterThanOrEqual(3);
});

describe('the extension in Firefox behind a proxy that refuses WebSocket upgrades', () => {
  test('the hub steps down to streaming; both popups say `Connected (streaming)`, prices and notifications flow', async () => {
    await onStreaming();
    await publishPriceAndSee(server, views, 'AAPL', 101.25);
    await publishNotifications(server, USER, published, 'Streamed 1', 'Streamed 2');
    await expectFeedOnce(views, published);
  });

  test('notifications published while the proxy drops everything appear exactly once', async () => {
    await onStreaming();
    await publishWhileDropped({ server, proxy, user: USER, published }, views, 'streaming', 'While dropped');
    await expectOneConnection(server, 'streaming');
  });

  test('when the proxy allows upgrades again, the hub returns to WebSocket', async () => {
    await onStreaming();
    proxy.set({ upgrades: 'allow' });
    await waitForTransport(views, 'websocket', PROBE_WAIT_MS);
    await expectOneConnection(server, 'websocket');
    await publishNotifications(server, USER, published, 'Back on WebSocket');
    await expectFeedOnce(views, published);
  }, PROBE_WAIT_MS + 30_000);
});
