/**
 * The web dashboard's hub in a SharedWorker, in Chromium and in Firefox, behind an HTTP proxy that
 * refuses WebSocket upgrades (issue 13), against a real server process on the SQLite store: the
 * hub steps down to HTTP streaming, both tabs say `Connected (streaming)` over the one session,
 * prices and notifications flow, notifications published while the proxy drops everything show
 * exactly once, and once the proxy allows upgrades the hub returns to WebSocket at its next probe.
 * The pages themselves are served through the same proxy, as they would be. Later tests stand on
 * the steps of earlier ones (`step`), so each also runs alone.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { expectSteppedDown, fallbackTests, REFUSED_UPGRADES, useJourney, type FallbackView } from '../support/fallback-journey';
import { DashboardPage } from '../support/pages/dashboard';
import { launchBrowser, type BrowserKind, type LaunchedBrowser } from '../support/puppeteer';
import { step } from '../support/steps';

/** A dashboard tab as `fallback-journey` reads it (each read brings the tab to the front first). */
const view = (tab: DashboardPage): FallbackView => ({
  status: () => tab.status(),
  waitForPrice: (symbol, price) => tab.waitForPrice(symbol, price),
  titles: () => tab.titles(),
  gaps: () => tab.gaps(),
});

describe.each<BrowserKind>(['chromium', 'firefox'])('the dashboard in %s behind a proxy that refuses WebSocket upgrades', (kind) => {
  const journey = useJourney({ upgrades: 'refuse' });
  let launched: LaunchedBrowser;
  const views: FallbackView[] = [];

  beforeAll(async () => {
    launched = await launchBrowser(kind);
  });

  afterAll(async () => {
    await launched?.close();
  });

  const onStreaming = step(async () => {
    const { server, proxy, user } = journey();
    const first = await DashboardPage.open(launched.browser, `${proxy.url}/`);
    await first.signIn(await server.mintToken(user));
    views.push(view(first), view(await DashboardPage.open(launched.browser, `${proxy.url}/`)));
    await expectSteppedDown(journey(), views, 'streaming');
  });

  fallbackTests({ ...REFUSED_UPGRADES, journey, views: () => views, ready: onStreaming, price: 101.25 });
});
