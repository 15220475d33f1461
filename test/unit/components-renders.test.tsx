// @vitest-environment happy-dom
/**
 * Views render only what changed. Renders of a row are counted through what each row calls once per
 * render (a price row formats its price, a feed row its time, an alert row its rule), so a row that
 * did not render again shows up as no call. The views get their updates from a client that batches
 * them per frame, as the real one does, with frames and visibility the test hands out.
 */
import { act } from 'preact/test-utils';
import { describe, expect, test, vi } from 'vitest';
import { AlertList } from '../../components/AlertList';
import { applyPriceUpdates, keepUnchangedAlerts } from '../../components/hub-state';
import { HubPanels, useHubViews, type HubViewWiring } from '../../components/hub-views';
import { NotificationList } from '../../components/NotificationList';
import type { ViewPage } from '../../components/page-frames';
import { PriceList } from '../../components/PriceList';
import type { AlertRule } from '../../lib/wire/alerts';
import type { PriceTick } from '../../lib/wire/prices';
import { createFrameBatcher } from '../../lib/rpc/frame-batcher';
import type { AlertItem, FeedPage, TopicUpdate } from '../../lib/rpc/hub-api';
import type { NotificationEntry } from '../../lib/rpc/feed-entry';
import type { HubClient } from '../../lib/rpc/hub-client';
import { root, show, useRenderRoot } from '../support/dom';

const renders = vi.hoisted(() => ({ price: 0, time: 0, rule: 0 }));

vi.mock('../../components/format', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../components/format')>();
  return {
    ...real,
    formatPrice: (price: unknown) => {
      renders.price += 1;
      return real.formatPrice(price);
    },
    formatTime: (at: unknown, now: number) => {
      renders.time += 1;
      return real.formatTime(at, now);
    },
  };
});
vi.mock('../../lib/wire/alerts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/wire/alerts')>();
  return {
    ...real,
    describeRule: (rule: AlertRule) => {
      renders.rule += 1;
      return real.describeRule(rule);
    },
  };
});

useRenderRoot();

/** What `run` made the rows render: price rows, feed rows, alert rows. */
async function counted(run: () => unknown): Promise<{ price: number; time: number; rule: number }> {
  const before = { ...renders };
  await act(async () => {
    await run();
  });
  return { price: renders.price - before.price, time: renders.time - before.time, rule: renders.rule - before.rule };
}

const T0 = Date.UTC(2026, 2, 3, 12, 0, 0);
const tick = (symbol: string, price: number): PriceTick => ({ symbol, price, prev: price - 1, at: T0 });
const SYMBOLS = Array.from({ length: 20 }, (_, i) => `S${String(i).padStart(2, '0')}`);
const note = (seq: number, read = false): NotificationEntry => ({
  kind: 'notification',
  id: `feed:ann/e1/${seq}`,
  topic: 'feed:ann',
  epoch: 'e1',
  seq,
  at: T0 + seq,
  title: `Title ${seq}`,
  body: '',
  level: 'info',
  read,
});
const RULE: AlertRule = { symbol: 'AAPL', condition: 'above', price: 200, repeat: 'once' };
const alert = (id: string, state: AlertItem['state'] = 'active'): AlertItem => ({ id, rule: RULE, state });
const noop = () => {};

describe('lists re-render only the rows that changed', () => {
  test('prices: a new tick for one symbol renders that row only', async () => {
    const ticks = SYMBOLS.map((symbol) => tick(symbol, 100));
    expect((await counted(() => show(<PriceList prices={ticks} />))).price).toBe(20);
    const moved = ticks.map((t, i) => (i === 7 ? tick(t.symbol, 101) : t));
    expect((await counted(() => show(<PriceList prices={moved} />))).price).toBe(1);
    expect(root.querySelector('[data-symbol="S07"] .value')?.textContent).toBe('101.00');
    expect((await counted(() => show(<PriceList prices={moved} />))).price).toBe(0);
  });

  test('feed: an entry marked read renders that row only; the same props render nothing', async () => {
    const entries = [note(3), note(2), note(1)];
    const now = () => T0;
    expect((await counted(() => show(<NotificationList entries={entries} unread={3} onMarkRead={noop} onMarkAllRead={noop} now={now} />))).time).toBe(3);
    const next = [entries[0]!, note(2, true), entries[2]!];
    expect((await counted(() => show(<NotificationList entries={next} unread={2} onMarkRead={noop} onMarkAllRead={noop} now={now} />))).time).toBe(1);
    expect((await counted(() => show(<NotificationList entries={next} unread={2} onMarkRead={noop} onMarkAllRead={noop} now={now} />))).time).toBe(0);
  });

  test('alerts: a list in which one alert changed renders that row only', async () => {
    const alerts = [alert('a1'), alert('a2'), alert('a3')];
    expect((await counted(() => show(<AlertList alerts={alerts} onPause={noop} onDelete={noop} />))).rule).toBe(3);
    const next = [alerts[0]!, alert('a2', 'paused'), alerts[2]!];
    expect((await counted(() => show(<AlertList alerts={next} onPause={noop} onDelete={noop} />))).rule).toBe(1);
  });
});

describe('folding updates in keeps what did not change', () => {
  test('a tick sent again with the same data leaves the prices as they were', () => {
    const prices = applyPriceUpdates(new Map(), [price('AAPL', 100)]);
    expect(applyPriceUpdates(prices, [price('AAPL', 100)])).toBe(prices);
    const moved = applyPriceUpdates(prices, [price('AAPL', 100), price('MSFT', 1)]);
    expect(moved.get('AAPL')).toBe(prices.get('AAPL'));
  });

  test('an alert list with the same data keeps the objects the view holds', () => {
    const shown = [alert('a1'), alert('a2')];
    expect(keepUnchangedAlerts(shown, [alert('a1'), alert('a2')])).toBe(shown);
    const next = keepUnchangedAlerts(shown, [alert('a1'), alert('a2', 'paused'), alert('a3')]);
    expect(next[0]).toBe(shown[0]);
    expect(next[1]).toEqual(alert('a2', 'paused'));
  });
});

/** A hub client as the views see it: updates batched per frame as `createHubClient` does, calls recorded. */
function fakeClient(wiring: HubViewWiring, calls: string[]) {
  const frames = createFrameBatcher<TopicUpdate>((batch) => void wiring.onUpdates(batch), wiring.frames);
  const feed: FeedPage = { entries: [note(2), note(1)], unread: 2 };
  /** While set, a `feed()` asked now answers only once it resolves. */
  let held: Promise<void> | null = null;
  const client = {
    api: {
      feed: async () => {
        calls.push('feed');
        const gate = held;
        await gate;
        if (gate) calls.push('feed answered');
        return feed;
      },
      alerts: async () => (calls.push('alerts'), [alert('a1')]),
      markRead: async () => {},
      markAllRead: async () => {},
    },
    subscribe: async () => {},
    unsubscribe: async () => {},
    setVisible: async (visible: boolean) => void calls.push(visible ? 'resume' : 'pause'),
    close: () => frames.close(),
    /** What the hub sends: resolves once the view took it. */
    send: (batch: readonly TopicUpdate[]) => frames.push(batch),
    /** Holds back the `feed()` answers asked from now on; returns what lets those through. */
    holdFeed: () => {
      let release = noop;
      held = new Promise<void>((resolve) => (release = resolve));
      return () => {
        held = null;
        release();
      };
    },
  };
  return client as unknown as HubClient & Pick<typeof client, 'send' | 'holdFeed'>;
}

/** A page whose frames and visibility the test controls. */
function testPage() {
  const frames: Array<() => void> = [];
  let report: (visible: boolean) => void = () => {};
  const page: ViewPage = {
    requestFrame: (callback) => void frames.push(callback),
    minFrameIntervalMs: 0,
    ackBeforeFrameMs: 0,
    watchVisibility: (next) => {
      report = next;
      next(true);
      return () => {};
    },
  };
  return { page, runFrame: () => frames.splice(0).forEach((frame) => frame()), setVisible: (visible: boolean) => report(visible) };
}

function mountViews() {
  const calls: string[] = [];
  const { page, runFrame, setVisible } = testPage();
  let client: ReturnType<typeof fakeClient> | null = null;
  const counts = { host: 0 };
  function Host() {
    const views = useHubViews((wiring) => {
      client = fakeClient(wiring, calls);
      // As `onReady` does once the hub is reached.
      queueMicrotask(wiring.reload);
      return client;
    }, page);
    counts.host += 1;
    return (
      <main aria-busy={!views.live}>
        <HubPanels views={views} />
      </main>
    );
  }
  return { calls, runFrame, setVisible, counts, client: () => client!, shown: show(<Host />) };
}

const price = (symbol: string, value: number): TopicUpdate => ({ kind: 'state', topic: `prices:${symbol}`, value: tick(symbol, value), at: T0 });

describe('the hub views', () => {
  test('updates within one frame are applied in one render, and only the moved price rows render', async () => {
    const view = mountViews();
    await view.shown;
    await counted(async () => {
      void view.client().send(SYMBOLS.map((symbol) => price(symbol, 100)));
      view.runFrame();
    });
    await vi.waitFor(() => expect(root.querySelectorAll('li.price')).toHaveLength(20));
    const hostRenders = view.counts.host;
    const changed = await counted(async () => {
      const taken = [view.client().send([price('S03', 101)]), view.client().send([price('S05', 102), price('S03', 103)])];
      expect(view.counts.host).toBe(hostRenders);
      view.runFrame();
      await Promise.all(taken);
    });
    expect(view.counts.host - hostRenders).toBe(1);
    expect(changed).toEqual({ price: 2, time: 0, rule: 0 });
    expect(root.querySelector('[data-symbol="S03"] .value')?.textContent).toBe('103.00');
  });

  test('an alert list sent again with the same data renders no alert row', async () => {
    const view = mountViews();
    await view.shown;
    await vi.waitFor(() => expect(root.querySelectorAll('ul[aria-label="Alerts"] > li')).toHaveLength(1));
    const again = await counted(async () => {
      const taken = view.client().send([{ kind: 'alerts', alerts: [alert('a1')] }]);
      view.runFrame();
      await taken;
    });
    expect(again.rule).toBe(0);
  });

  test('a hidden page pauses its session; shown again it resumes, then reloads the feed and the alerts', async () => {
    const view = mountViews();
    await view.shown;
    await vi.waitFor(() => expect(view.calls).toEqual(['feed', 'alerts']));
    const busy = () => root.querySelector('main')?.getAttribute('aria-busy');
    expect(busy()).toBe('false');
    await act(() => view.setVisible(false));
    expect(view.calls).toEqual(['feed', 'alerts', 'pause']);
    expect(busy()).toBe('true');
    await act(() => view.setVisible(true));
    await vi.waitFor(() => expect(view.calls).toEqual(['feed', 'alerts', 'pause', 'resume', 'feed', 'alerts']));
    // Busy until what it shows has been reloaded.
    await vi.waitFor(() => expect(busy()).toBe('false'));
  });

  test('shown, hidden and shown again, a page stays busy until the reload of its latest showing answered', async () => {
    const view = mountViews();
    await view.shown;
    await vi.waitFor(() => expect(view.calls).toEqual(['feed', 'alerts']));
    const busy = () => root.querySelector('main')?.getAttribute('aria-busy');
    const feeds = () => view.calls.filter((call) => call === 'feed').length;
    const releaseFirst = view.client().holdFeed();
    for (const visible of [false, true]) await act(() => view.setVisible(visible));
    await vi.waitFor(() => expect(feeds()).toBe(2));
    const releaseSecond = view.client().holdFeed();
    for (const visible of [false, true]) await act(() => view.setVisible(visible));
    await vi.waitFor(() => expect(feeds()).toBe(3));
    // The first showing's reload answers: the page is still behind what the second showing missed.
    await act(releaseFirst);
    // One macrotask later every promise step of the first reload has run (the fake answers on microtasks).
    await act(() => new Promise<void>((resolve) => setTimeout(resolve, 0)));
    expect(view.calls.at(-1)).toBe('feed answered');
    expect(busy()).toBe('true');
    await act(releaseSecond);
    await vi.waitFor(() => expect(busy()).toBe('false'));
  });
});
