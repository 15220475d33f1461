/**
 * The built extension in Chromium behind an HTTP proxy that refuses WebSocket upgrades, as a
 * corporate filter does (issue 13), against a real server process on the SQLite store. The hub
 * steps down to HTTP streaming on its own; the popup says `Connected (streaming)`; prices,
 * notifications and alerts work; notifications published while the proxy drops everything show
 * exactly once, and an alert made meanwhile is synced once and fires once. When the proxy starts
 * allowing upgrades, the hub returns to WebSocket at its next probe (every 60 s). Then the proxy
 * also buffers whole responses, as a scanning antivirus does: the stream delivers nothing, and the
 * hub ends on long polling with the same results, and returns to streaming once the proxy stops
 * buffering. Later tests stand on the steps of earlier ones (`step`), so each also runs alone.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TransportName } from '../../lib/rpc/hub-api';
import { launchChromiumWithExtension, type ExtensionBrowser } from '../support/chromium';
import { expectFeedOnce, expectOneConnection, publishWhileDropped, waitForTransport, type FallbackView } from '../support/fallback-journey';
import { startHttpProxy, type HttpProxy } from '../support/http-proxy';
import { OptionsPage } from '../support/pages/options';
import { PopupPage } from '../support/pages/popup';
import { publishNotifications, publishPriceAndSee } from '../support/publish';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { step } from '../support/steps';

const USER = 'ann';
/** The hub probes WebSocket every 60 s while on HTTP; this is that and some slack. */
const PROBE_WAIT_MS = 90_000;

let server: ServerProcess;
let proxy: HttpProxy;
let browser: ExtensionBrowser;
let popup: PopupPage;
/** Notification titles in the order they were published (fired alerts included). */
const published: string[] = [];
/** The rows the popup's `Alerts` list should show. */
const alertRows: { rule: string; state: string }[] = [];

/** The popup as `fallback-journey` reads it. */
const view = (page: PopupPage): FallbackView => ({
  status: () => page.status(),
  waitForPrice: (symbol, price) => page.waitForPrice(symbol, price),
  titles: () => page.titles(),
  gaps: async () => (await page.feed()).filter((row) => row.kind === 'gap').map((row) => row.text),
});

beforeAll(async () => {
  server = await spawnServerProcess();
  proxy = await startHttpProxy({ port: server.port }, { upgrades: 'refuse' });
  browser = await launchChromiumWithExtension();
  await server.publishPrice('AAPL', 200);
});

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.dispose();
});

const configured = step(async () => {
  const options = await OptionsPage.open(browser);
  await options.save({ serverUrl: proxy.url, token: await server.mintToken(USER) });
  popup = await PopupPage.open(browser);
  await options.page.close();
});

/**
 * An alert made while the proxy drops everything waits in the outbox, is synced once the hub is
 * through again, and fires once on a price that crosses it; its notification shows once.
 */
async function alertThroughDrop(symbol: string, from: number, threshold: number, transport: TransportName): Promise<void> {
  const words = `${symbol} above ${threshold}`;
  await publishPriceAndSee(server, [popup], symbol, from);
  proxy.unplug();
  await popup.waitForStatusNot('Connected');
  await popup.createAlert({ symbol, condition: 'above', price: String(threshold) });
  const row = { rule: words, state: 'Pending sync' };
  alertRows.push(row);
  await popup.waitForAlerts(alertRows);
  proxy.plug();
  await waitForTransport([view(popup)], transport);
  row.state = 'Active';
  await popup.waitForAlerts(alertRows);
  const held = (await server.alerts(USER)).filter((alert) => alert.rule.symbol === symbol);
  expect(held).toHaveLength(1);

  await publishPriceAndSee(server, [popup], symbol, threshold + 1.5);
  row.state = 'Fired';
  await popup.waitForAlerts(alertRows);
  published.push(words);
  await expectFeedOnce([view(popup)], published);
}

describe('the extension in Chromium behind a proxy that refuses WebSocket upgrades', () => {
  const onStreaming = step(async () => {
    await configured();
    await waitForTransport([view(popup)], 'streaming');
    expect(await popup.status()).toBe('Connected (streaming)');
    await expectOneConnection(server, 'streaming');
    // The hub tried WebSocket first, and stepped down only after upgrades kept failing.
    expect(proxy.counts().refused).toBeGreaterThanOrEqual(3);
  });

  test('the hub steps down to streaming; the popup says `Connected (streaming)`, prices and notifications flow', async () => {
    await onStreaming();
    await publishPriceAndSee(server, [view(popup)], 'AAPL', 201.25);
    await publishNotifications(server, USER, published, 'Streamed 1', 'Streamed 2');
    await expectFeedOnce([view(popup)], published);
  });

  test('notifications published while the proxy drops everything appear exactly once', async () => {
    await onStreaming();
    await publishWhileDropped({ server, proxy, user: USER, published }, [view(popup)], 'streaming', 'While dropped (streaming)');
    await expectOneConnection(server, 'streaming');
  });

  test('an alert made while the proxy drops everything is synced once and fires once', async () => {
    await onStreaming();
    await alertThroughDrop('MSFT', 400, 410, 'streaming');
  });

  test('when the proxy allows upgrades again, the hub returns to WebSocket', async () => {
    await onStreaming();
    proxy.set({ upgrades: 'allow' });
    await waitForTransport([view(popup)], 'websocket', PROBE_WAIT_MS);
    expect(await popup.status()).toBe('Connected');
    await expectOneConnection(server, 'websocket');
    await publishNotifications(server, USER, published, 'Back on WebSocket');
    await expectFeedOnce([view(popup)], published);
  }, PROBE_WAIT_MS + 30_000);
});

describe('the extension in Chromium behind a proxy that also buffers whole responses', () => {
  const onLongPolling = step(async () => {
    await configured();
    proxy.set({ upgrades: 'refuse', buffering: true });
    // Whatever the hub was on, its connection is cut and it starts over behind the new proxy.
    proxy.unplug();
    proxy.plug();
    await waitForTransport([view(popup)], 'long polling', 60_000);
    expect(await popup.status()).toBe('Connected (long polling)');
    await expectOneConnection(server, 'long polling');
    expect(proxy.counts().buffered).toBeGreaterThan(0);
  });

  test('the hub ends on long polling; prices and notifications flow', async () => {
    await onLongPolling();
    await publishPriceAndSee(server, [view(popup)], 'AAPL', 202.5);
    await publishNotifications(server, USER, published, 'Polled 1', 'Polled 2');
    await expectFeedOnce([view(popup)], published);
  });

  test('notifications published while the proxy drops everything appear exactly once', async () => {
    await onLongPolling();
    await publishWhileDropped({ server, proxy, user: USER, published }, [view(popup)], 'long polling', 'While dropped (long polling)');
    await expectOneConnection(server, 'long polling');
  });

  test('an alert made while the proxy drops everything is synced once and fires once', async () => {
    await onLongPolling();
    await alertThroughDrop('NVDA', 120, 130, 'long polling');
  });

  test('when the proxy stops buffering (upgrades still refused), the hub returns to streaming', async () => {
    await onLongPolling();
    proxy.set({ buffering: false });
    await waitForTransport([view(popup)], 'streaming', PROBE_WAIT_MS);
    await expectOneConnection(server, 'streaming');
    await publishNotifications(server, USER, published, 'Back on streaming');
    await expectFeedOnce([view(popup)], published);
  }, PROBE_WAIT_MS + 30_000);
});
