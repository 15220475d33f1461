/**
 * The web dashboard's hub in a SharedWorker, in Chromium and in Firefox, behind an HTTP proxy that
 * refuses WebSocket upgrades (issue 13), against a real server process on the SQLite store: the
 * hub steps down to HTTP streaming, both tabs say `Connected (streaming)` over the one session,
 * prices and notifications flow, notifications published while the proxy drops everything show
 * exactly once, and once the proxy allows upgrades the hub returns to WebSocket at its next probe.
 * The pages themselves are served through the same proxy, as they would be. Later tests stand on
 * the steps of earlier ones (`step`), so each also runs alone.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectFeedOnce, expectOneConnection, publishWhileDropped, waitForTransport, type FallbackView } from '../support/fallback-journey';
import { startHttpProxy, type HttpProxy } from '../support/http-proxy';
import { DashboardPage } from '../support/pages/dashboard';
import { publishNotifications, publishPriceAndSee } from '../support/publish';
import { launchBrowser, type BrowserKind, type LaunchedBrowser } from '../support/puppeteer';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { step } from '../support/steps';

const USER = 'ann';
/** The hub probes WebSocket every 60 s while on HTTP; this is that and some slack. */
const PROBE_WAIT_MS = 90_000;

/** A dashboard tab as `fallback-journey` reads it (each read brings the tab to the front first). */
const view = (tab: DashboardPage): FallbackView => ({
  status: () => tab.status(),
  waitForPrice: (symbol, price) => tab.waitForPrice(symbol, price),
  titles: () => tab.titles(),
  gaps: () => tab.gaps(),
});

describe.each<BrowserKind>(['chromium', 'firefox'])('the dashboard in %s behind a proxy that refuses WebSocket upgrades', (kind) => {
  let server: ServerProcess;
  let proxy: HttpProxy;
  let launched: LaunchedBrowser;
  const views: FallbackView[] = [];
  /** Notification titles in the order they were published. */
  const published: string[] = [];

  beforeAll(async () => {
    server = await spawnServerProcess();
    proxy = await startHttpProxy({ port: server.port }, { upgrades: 'refuse' });
    launched = await launchBrowser(kind);
  });

  afterAll(async () => {
    await launched?.close();
    await proxy?.close();
    await server?.dispose();
  });

  const onStreaming = step(async () => {
    const first = await DashboardPage.open(launched.browser, `${proxy.url}/`);
    await first.signIn(await server.mintToken(USER));
    views.push(view(first), view(await DashboardPage.open(launched.browser, `${proxy.url}/`)));
    await waitForTransport(views, 'streaming');
    expect(await views[0]!.status()).toBe('Connected (streaming)');
    await expectOneConnection(server, 'streaming');
    expect(proxy.counts().refused).toBeGreaterThanOrEqual(3);
  });

  test('the hub steps down to streaming; both tabs say `Connected (streaming)`, prices and notifications flow', async () => {
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
