/**
 * The Firefox build (MV2, persistent background page) in Debian's Firefox ESR behind an HTTP proxy
 * that refuses WebSocket upgrades (issue 13), against a real server process on the SQLite store:
 * the hub steps down to HTTP streaming, two popup tabs say `Connected (streaming)` over the one
 * session, prices and notifications flow, notifications published while the proxy drops everything
 * show exactly once, and once the proxy allows upgrades the hub returns to WebSocket at its next
 * probe. Later tests stand on the steps of earlier ones (`step`), so each also runs alone.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { expectSteppedDown, fallbackTests, popupView, REFUSED_UPGRADES, useJourney, type FallbackView } from '../support/fallback-journey';
import { launchFirefoxWithExtension, type FirefoxExtension } from '../support/firefox';
import { FirefoxOptionsPage } from '../support/pages/firefox-options';
import { FirefoxPopupPage } from '../support/pages/firefox-popup';
import { step } from '../support/steps';

const journey = useJourney({ upgrades: 'refuse' });
let firefox: FirefoxExtension;
const views: FallbackView[] = [];

beforeAll(async () => {
  firefox = await launchFirefoxWithExtension();
});

afterAll(async () => {
  await firefox?.close();
});

const onStreaming = step(async () => {
  const { server, proxy, user } = journey();
  const options = await FirefoxOptionsPage.open(firefox);
  await options.save({ serverUrl: proxy.url, token: await server.mintToken(user) });
  await options.page.close();
  for (let i = 0; i < 2; i += 1) views.push(popupView(await FirefoxPopupPage.open(firefox)));
  await expectSteppedDown(journey(), views, 'streaming');
});

describe('the extension in Firefox behind a proxy that refuses WebSocket upgrades', () => {
  fallbackTests({ ...REFUSED_UPGRADES, journey, views: () => views, ready: onStreaming, price: 101.25 });
});
