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
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { HttpTransportName, TransportName } from '../../lib/rpc/hub-api';
import { launchChromiumWithExtension, type ExtensionBrowser } from '../support/chromium';
import {
  expectFeedOnce,
  expectSteppedDown,
  fallbackTests,
  popupView,
  useJourney,
  waitForTransport,
  type FallbackView,
} from '../support/fallback-journey';
import type { HttpProxyMode } from '../support/http-proxy';
import { OptionsPage } from '../support/pages/options';
import { PopupPage } from '../support/pages/popup';
import { publishPriceAndSee } from '../support/publish';
import { step } from '../support/steps';

const journey = useJourney({ upgrades: 'refuse' });
let browser: ExtensionBrowser;
let popup: PopupPage;
let views: FallbackView[];
/** The rows the popup's `Alerts` list should show. */
const alertRows: { rule: string; state: string }[] = [];

beforeAll(async () => {
  browser = await launchChromiumWithExtension();
  await journey().server.publishPrice('AAPL', 200);
});

afterAll(async () => {
  await browser?.close();
});

const configured = step(async () => {
  const options = await OptionsPage.open(browser);
  const { server, proxy, user } = journey();
  await options.save({ serverUrl: proxy.url, token: await server.mintToken(user) });
  popup = await PopupPage.open(browser);
  views = [popupView(popup)];
  await options.page.close();
});

/**
 * An alert made while the proxy drops everything waits in the outbox, is synced once the hub is
 * through again, and fires once on a price that crosses it; its notification shows once.
 */
async function alertThroughDrop(symbol: string, from: number, threshold: number, transport: TransportName): Promise<void> {
  const { server, proxy, user, published } = journey();
  const words = `${symbol} above ${threshold}`;
  await publishPriceAndSee(server, views, symbol, from);
  proxy.unplug();
  await popup.waitForStatusNot('Connected');
  await popup.createAlert({ symbol, condition: 'above', price: String(threshold) });
  const row = { rule: words, state: 'Pending sync' };
  alertRows.push(row);
  await popup.waitForAlerts(alertRows);
  proxy.plug();
  await waitForTransport(views, transport);
  row.state = 'Active';
  await popup.waitForAlerts(alertRows);
  const held = (await server.alerts(user)).filter((alert) => alert.rule.symbol === symbol);
  expect(held).toHaveLength(1);

  await publishPriceAndSee(server, views, symbol, threshold + 1.5);
  row.state = 'Fired';
  await popup.waitForAlerts(alertRows);
  published.push(words);
  await expectFeedOnce(views, published);
}

interface Behind {
  readonly proxy: string;
  /** What the proxy does. */
  readonly mode: HttpProxyMode;
  /** Where the hub ends behind it. */
  readonly transport: HttpTransportName;
  readonly alert: readonly [symbol: string, from: number, threshold: number];
  /** The proxy's change that lets the hub step up, and to what. */
  readonly relief: { readonly change: Partial<HttpProxyMode>; readonly to: TransportName; readonly words: string };
}

describe.each<Behind>([
  {
    proxy: 'refuses WebSocket upgrades',
    mode: { upgrades: 'refuse', buffering: false },
    transport: 'streaming',
    alert: ['MSFT', 400, 410],
    relief: { change: { upgrades: 'allow' }, to: 'websocket', words: 'allows upgrades again' },
  },
  {
    proxy: 'also buffers whole responses',
    mode: { upgrades: 'refuse', buffering: true },
    transport: 'long polling',
    alert: ['NVDA', 120, 130],
    relief: { change: { buffering: false }, to: 'streaming', words: 'stops buffering (upgrades still refused)' },
  },
])('the extension in Chromium behind a proxy that $proxy', ({ mode, transport, alert, relief }) => {
  const onFallback = step(async () => {
    await configured();
    // Whatever the hub was on, its connection is cut and it starts over behind this proxy.
    const { proxy } = journey();
    proxy.set(mode);
    proxy.unplug();
    proxy.plug();
    await expectSteppedDown(journey(), views, transport, 60_000);
    if (mode.buffering) expect(proxy.counts().buffered).toBeGreaterThan(0);
  });

  fallbackTests({
    journey,
    views: () => views,
    ready: onFallback,
    transport,
    price: alert[1] + 0.25,
    relief,
    more: [{ name: 'an alert made while the proxy drops everything is synced once and fires once', run: () => alertThroughDrop(...alert, transport) }],
  });
});
