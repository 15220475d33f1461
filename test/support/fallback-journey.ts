/**
 * What issue 13's end-to-end tests check behind an HTTP proxy (`./http-proxy`), the same for every
 * host of the hub: the extension in Chromium and in Firefox, and the dashboard's SharedWorker. A
 * view is read as a person reads it: the status line names the transport, prices move, and every
 * notification shows exactly once with no gap notice, including those published while the proxy
 * dropped everything.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { HttpTransportName, TransportName } from '../../lib/rpc/hub-api';
import { startHttpProxy, type HttpProxy, type HttpProxyMode } from './http-proxy';
import { poll } from './poll';
import { CONNECTIONS, publishNotifications, publishPriceAndSee, type ShowsPrices } from './publish';
import { spawnServerProcess, type ServerHttp, type ServerProcess } from './server';

/** Open HTTP sessions by what reads them (`stream`, `poll`, or `none` between two polls). */
const HTTP_SESSIONS = 'switchboard_http_sessions';

/** A page that shows the hub's status, prices and feed (a popup, a dashboard tab). */
export interface FallbackView extends ShowsPrices {
  status(): Promise<string>;
  /** Notification titles shown, newest first. */
  titles(): Promise<string[]>;
  /** Gap notices shown. */
  gaps(): Promise<string[]>;
}

/** What a journey publishes through and keeps track of. */
export interface Journey {
  readonly server: ServerHttp;
  readonly proxy: HttpProxy;
  readonly user: string;
  /** Notification titles in the order they were published. */
  readonly published: string[];
}

/**
 * A server process and a proxy in front of it (`mode`), started before the tests of the file (or
 * `describe`) it is called in and stopped after them. The journey is read once they have started.
 */
export function useJourney(mode: Partial<HttpProxyMode>): () => Journey & { readonly server: ServerProcess } {
  let journey: (Journey & { readonly server: ServerProcess }) | undefined;
  beforeAll(async () => {
    const server = await spawnServerProcess();
    try {
      journey = { server, proxy: await startHttpProxy({ port: server.port }, mode), user: 'ann', published: [] };
    } catch (error) {
      await server.dispose();
      throw error;
    }
  });
  afterAll(async () => {
    await journey?.proxy.close();
    await journey?.server.dispose();
  });
  return () => {
    if (!journey) throw new Error('the journey has not started: call it inside a test');
    return journey;
  };
}

/**
 * Every view says `Connected (<transport>)`, the server holds one connection over it, and the
 * proxy refused upgrades on the way: the hub tried WebSocket first, and stepped down only after
 * upgrades kept failing.
 */
export async function expectSteppedDown(journey: Journey, views: readonly FallbackView[], transport: HttpTransportName, timeoutMs?: number): Promise<void> {
  await waitForTransport(views, transport, timeoutMs);
  expect(await views[0]!.status()).toBe(`Connected (${transport})`);
  await expectOneConnection(journey.server, transport);
  expect(journey.proxy.counts().refused).toBeGreaterThanOrEqual(3);
}

/** A popup page (Chromium's or Firefox's), whose feed rows say which are gap notices. */
interface PopupLike extends ShowsPrices {
  status(): Promise<string>;
  titles(): Promise<string[]>;
  feed(): Promise<ReadonlyArray<{ readonly kind: 'notification' | 'gap'; readonly text: string }>>;
}

/** A popup as a `FallbackView`. */
export function popupView(page: PopupLike): FallbackView {
  return {
    status: () => page.status(),
    waitForPrice: (symbol, price) => page.waitForPrice(symbol, price),
    titles: () => page.titles(),
    gaps: async () => (await page.feed()).filter((row) => row.kind === 'gap').map((row) => row.text),
  };
}

/** The transport a status line names when connected (plain `Connected` is WebSocket), else null. */
function transportIn(status: string): TransportName | null {
  const connected = /^Connected(?: \((streaming|long polling)\))?(?![ (])/.exec(status);
  if (!connected) return null;
  return (connected[1] as TransportName | undefined) ?? 'websocket';
}

/** Waits until every view says it is connected over `transport`. */
export async function waitForTransport(views: readonly FallbackView[], transport: TransportName, timeoutMs = 30_000): Promise<void> {
  for (const view of views) {
    let shown = '';
    await poll(
      () => `the status line to say connected over ${transport} (it says ${JSON.stringify(shown)})`,
      async () => transportIn((shown = await view.status())) === transport,
      { timeoutMs },
    );
  }
}

/** Waits until no view says it is connected (the proxy cut them). */
async function waitForDisconnected(views: readonly FallbackView[]): Promise<void> {
  for (const view of views) {
    let shown = '';
    await poll(
      () => `the status line to leave Connected (it says ${JSON.stringify(shown)})`,
      async () => transportIn((shown = await view.status())) === null,
    );
  }
}

/**
 * Expects the server to hold the hub's one connection over `transport`, and nothing over the others:
 * one connection for every view, whatever carries it.
 */
async function expectOneConnection(server: ServerHttp, transport: TransportName): Promise<void> {
  const read = async (): Promise<string> => {
    const [ws, stream, poll, none] = await Promise.all([
      server.metric(CONNECTIONS),
      server.metric(HTTP_SESSIONS, { transport: 'stream' }),
      server.metric(HTTP_SESSIONS, { transport: 'poll' }),
      server.metric(HTTP_SESSIONS, { transport: 'none' }),
    ]);
    // A long-polling session is between two polls now and then: count it either way.
    return JSON.stringify({ websocket: ws, streaming: stream, 'long polling': poll + none });
  };
  const expected = JSON.stringify({ websocket: 0, streaming: 0, 'long polling': 0, [transport]: 1 });
  let seen = '';
  await poll(() => `one connection over ${transport}: ${expected} (the server holds ${seen})`, async () => (seen = await read()) === expected);
}

/** Every view shows exactly `published`, newest first, each once, with no gap notice. */
export async function expectFeedOnce(views: readonly FallbackView[], published: readonly string[]): Promise<void> {
  const newestFirst = [...published].reverse();
  for (const view of views) {
    await expect.poll(() => view.titles(), { timeout: 30_000, interval: 50 }).toEqual(newestFirst);
    expect(await view.gaps()).toEqual([]);
  }
}

/** A tick and two notifications reach every view, each once. */
async function expectPricesAndNotifications(journey: Journey, views: readonly FallbackView[], price: number, label: string): Promise<void> {
  await publishPriceAndSee(journey.server, views, 'AAPL', price);
  await publishNotifications(journey.server, journey.user, journey.published, `${label} 1`, `${label} 2`);
  await expectFeedOnce(views, journey.published);
}

/**
 * The proxy drops everything; while it does, `count` notifications are published; then it lets the
 * hub through again. Every view ends connected over `transport`, over one connection on the
 * server, with each notification once.
 */
async function publishWhileDropped(journey: Journey, views: readonly FallbackView[], transport: TransportName, label: string, count = 5): Promise<void> {
  const { server, proxy, user, published } = journey;
  proxy.unplug();
  await waitForDisconnected(views);
  for (let n = 1; n <= count; n += 1) await publishNotifications(server, user, published, `${label} ${n}`);
  proxy.plug();
  await waitForTransport(views, transport);
  await expectFeedOnce(views, published);
  await expectOneConnection(server, transport);
}

/** The hub probes WebSocket every 60 s while on HTTP; this is that and some slack. */
const PROBE_WAIT_MS = 90_000;

/**
 * After a change of the proxy (`change`), every view ends connected over `transport` by the hub's
 * next probe, over one connection on the server, and the feed goes on.
 */
async function expectStepUp(journey: Journey, views: readonly FallbackView[], change: Partial<HttpProxyMode>, transport: TransportName): Promise<void> {
  journey.proxy.set(change);
  await waitForTransport(views, transport, PROBE_WAIT_MS);
  await expectOneConnection(journey.server, transport);
  await publishNotifications(journey.server, journey.user, journey.published, `Back on ${transport}`);
  await expectFeedOnce(views, journey.published);
}

/** How a file hands its hub's views to `fallbackTests`: read when the tests run, after `ready`. */
export interface FallbackSuite {
  readonly journey: () => Journey;
  readonly views: () => readonly FallbackView[];
  /** The step that leaves every view connected over `transport` behind the proxy. */
  readonly ready: () => Promise<void>;
  readonly transport: HttpTransportName;
  /** A price to publish, for the first test. */
  readonly price: number;
  /** The proxy's change that lets the hub step up, in words, and where the hub ends. */
  readonly relief: { readonly change: Partial<HttpProxyMode>; readonly words: string; readonly to: TransportName };
  /** A host's own tests over the fallback, run before the step up. */
  readonly more?: ReadonlyArray<{ readonly name: string; run(): Promise<void> }>;
}

/** What the hub meets behind a proxy that refuses upgrades, and what lets it back up. */
export const REFUSED_UPGRADES = {
  transport: 'streaming',
  relief: { change: { upgrades: 'allow' }, words: 'allows upgrades again', to: 'websocket' },
} as const satisfies Pick<FallbackSuite, 'transport' | 'relief'>;

/**
 * The tests every host of the hub runs behind a proxy (issue 13): what the views say and show over
 * the fallback, notifications published while the proxy drops everything, and the step back up.
 */
export function fallbackTests(suite: FallbackSuite): void {
  const { transport, relief } = suite;
  test(`the hub steps down to ${transport}; every view says \`Connected (${transport})\`, prices and notifications flow`, async () => {
    await suite.ready();
    await expectPricesAndNotifications(suite.journey(), suite.views(), suite.price, `Over ${transport}`);
  });

  test('notifications published while the proxy drops everything appear exactly once', async () => {
    await suite.ready();
    await publishWhileDropped(suite.journey(), suite.views(), transport, `While dropped (${transport})`);
  });

  for (const { name, run } of suite.more ?? []) {
    test(name, async () => {
      await suite.ready();
      await run();
    });
  }

  test(`when the proxy ${relief.words}, the hub returns to ${relief.to === 'websocket' ? 'WebSocket' : relief.to}`, async () => {
    await suite.ready();
    await expectStepUp(suite.journey(), suite.views(), relief.change, relief.to);
  }, PROBE_WAIT_MS + 30_000);
}
