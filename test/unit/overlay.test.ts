/**
 * Alert overlays inside the hub: fired alerts and `high` notifications stored for the first time
 * reach the notifier once each when live, as one summary when a replay recovers several, never for
 * replays of stored events or a first start's history, and not at all in quiet hours. Dismiss and
 * snooze. Fake socket, fresh fake-indexeddb, fake timers leaving `setImmediate` real.
 */
import { describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import type { FeedUpdate } from '../../lib/rpc/hub-api';
import type { NotificationData } from '../../lib/wire/notifications';
import type { EventFrame, FrameOf, ServerFrame } from '../../lib/wire/protocol';
import type { Hub } from '../../worker/core/hub';
import { createFakePlatform, TEST_SETTINGS, waitUntil, type FakePlatform, type FakeSocket } from '../support/fake-socket';
import { listenAll, openTestHub, useHubHarness } from '../support/hub-harness';

useHubHarness();

const FEED = 'feed:ann';

function fired(n: number): NotificationData {
  return {
    title: `AAPL above ${200 + n}`,
    body: `AAPL hit ${200 + n}.5`,
    level: 'high',
    alert: { alertId: `alert-${n}`, rule: { symbol: 'AAPL', condition: 'above', price: 200 + n, repeat: 'once' }, price: 200.5 + n, firedAt: 1000 + n },
  };
}

function ev(seq: number, data: Partial<NotificationData> = fired(seq), topic = FEED, epoch = 'f1'): EventFrame {
  return { t: 'event', topic, epoch, seq, at: 1_000 + seq, data: { title: `#${seq}`, body: 'text', ...data } };
}

function subscribed(topic: string, recovery: 'fresh' | 'recovered', head: number, from?: number): FrameOf<ServerFrame, 'subscribed'> {
  return { t: 'subscribed', topic, mode: 'stream', recovery, position: { epoch: topic === 'news' ? 'n1' : 'f1', seq: head }, ...(from === undefined ? {} : { from }) };
}

async function start(platform: FakePlatform = createFakePlatform()) {
  const hub = await openTestHub(platform, { backoffBaseMs: 1000 });
  const session = hub.openSession();
  const updates = await listenAll(session);
  const feedUpdates = () => updates.filter((update): update is FeedUpdate => update.kind === 'feed');
  return { platform, hub, session, feedUpdates, shown: () => platform.notifier.shown.map((call) => call.item), socket: () => platform.sockets.last() };
}

/** Opens as `ann`; both stream topics start at `feedHead` (the feed) and 0 (news), with `events` after. */
async function connect(hub: Hub, socket: FakeSocket, recovery: 'fresh' | 'recovered', feedHead: number, events: EventFrame[] = []) {
  socket.accept({ user: 'ann' });
  await hub.idle();
  socket.receive(subscribed('news', recovery, 0));
  socket.receive(subscribed(FEED, recovery, feedHead, events[0]?.seq));
  if (events.length > 0) socket.receive({ t: 'batch', frames: events });
  await hub.idle();
}

/** Drops the connection and lets the hub reconnect (backoff 500 ms with random 0.5). */
function reconnect(platform: FakePlatform): FakeSocket {
  platform.sockets.last().serverClose(CloseCode.abnormal);
  vi.advanceTimersByTime(500);
  return platform.sockets.last();
}

describe('showing', () => {
  test('a live fired alert is shown once, with its text and the feed entry it stands for', async () => {
    const { hub, socket, shown, platform } = await start();
    await connect(hub, socket(), 'fresh', 0);
    socket().receive(ev(1));
    await hub.idle();
    expect(shown()).toEqual([
      { id: `alert:${FEED}/f1/1`, kind: 'alert', title: 'AAPL above 201', body: 'AAPL hit 201.5', level: 'high', at: 1001, entryIds: [`${FEED}/f1/1`] },
    ]);
    expect(platform.notifier.shown[0]?.systemNotifications).toBe(true);
  });

  test('two live events make two overlays; info and warning notifications make none; a high one makes one', async () => {
    const { hub, socket, shown } = await start();
    await connect(hub, socket(), 'fresh', 0);
    socket().receive(ev(1)).receive(ev(2, { title: 'fyi', level: 'info' })).receive(ev(3, { title: 'hmm', level: 'warning' }));
    socket().receive(ev(4)).receive(ev(5, { title: 'Server on fire', body: 'really', level: 'high' }));
    await hub.idle();
    expect(shown().map((item) => [item.kind, item.title])).toEqual([
      ['alert', 'AAPL above 201'],
      ['alert', 'AAPL above 204'],
      ['notification', 'Server on fire'],
    ]);
  });

  test('replays of stored events are never shown again; the next new one is', async () => {
    const { hub, socket, shown, platform } = await start();
    await connect(hub, socket(), 'fresh', 0);
    socket().receive(ev(1));
    await hub.idle();
    const next = reconnect(platform);
    // A server that replays from before the cursor: event 1 is a duplicate, event 2 is new.
    await connect(hub, next, 'recovered', 2, [ev(1), ev(2)]);
    expect(shown().map((item) => item.entryIds)).toEqual([[`${FEED}/f1/1`], [`${FEED}/f1/2`]]);
    next.receive(ev(2)).receive(ev(1));
    await hub.idle();
    expect(shown()).toHaveLength(2);
  });

  test('several alerts recovered after being away make ONE summary, even when the replay comes in parts', async () => {
    const { hub, socket, shown, platform } = await start();
    await connect(hub, socket(), 'fresh', 0, []);
    socket().receive(ev(1, { title: 'plain', level: 'info' }));
    await hub.idle();
    const next = reconnect(platform);
    next.accept({ user: 'ann' });
    await hub.idle();
    next.receive(subscribed('news', 'recovered', 0)).receive(subscribed(FEED, 'recovered', 5, 2));
    next.receive(ev(2));
    await hub.idle();
    expect(shown()).toEqual([]);
    next.receive({ t: 'batch', frames: [ev(3), ev(4, { title: 'not for an overlay', level: 'info' }), ev(5)] });
    await hub.idle();
    expect(shown()).toEqual([
      {
        id: `summary:${FEED}/f1/5`,
        kind: 'summary',
        title: '3 alerts fired while you were away',
        body: 'AAPL above 205\nAAPL above 203\nAAPL above 202',
        level: 'high',
        at: 1005,
        entryIds: [`${FEED}/f1/2`, `${FEED}/f1/3`, `${FEED}/f1/5`],
      },
    ]);
    // Live again after the replay: one overlay per event.
    next.receive(ev(6));
    await hub.idle();
    expect(shown().map((item) => item.kind)).toEqual(['summary', 'alert']);
  });

  test('one alert recovered is shown as itself', async () => {
    const { hub, socket, shown, platform } = await start();
    await connect(hub, socket(), 'fresh', 0);
    await connect(hub, reconnect(platform), 'recovered', 1, [ev(1)]);
    expect(shown().map((item) => item.kind)).toEqual(['alert']);
  });

  test("a first start's history (no cursor yet) shows nothing", async () => {
    const { hub, socket, shown } = await start();
    await connect(hub, socket(), 'fresh', 3, [ev(1), ev(2), ev(3)]);
    expect(shown()).toEqual([]);
    socket().receive(ev(4));
    await hub.idle();
    expect(shown()).toHaveLength(1);
  });

  test('quiet hours: nothing is shown, the feed still updates', async () => {
    vi.setSystemTime(new Date(2026, 0, 5, 12, 30));
    const quiet = { ...TEST_SETTINGS, quietHours: { start: '12:00', end: '13:00' } };
    const { hub, socket, shown, feedUpdates } = await start(createFakePlatform({ settings: quiet }));
    await connect(hub, socket(), 'fresh', 0);
    socket().receive(ev(1));
    await hub.idle();
    await waitUntil('the feed update', () => feedUpdates().length > 0);
    expect(shown()).toEqual([]);
    vi.setSystemTime(new Date(2026, 0, 5, 13, 0));
    socket().receive(ev(2));
    await hub.idle();
    expect(shown()).toHaveLength(1);
  });

  test('system notifications off is passed to the notifier', async () => {
    const { hub, socket, platform } = await start(createFakePlatform({ settings: { ...TEST_SETTINGS, systemNotifications: false } }));
    await connect(hub, socket(), 'fresh', 0);
    socket().receive(ev(1));
    await hub.idle();
    expect(platform.notifier.shown.map((call) => call.systemNotifications)).toEqual([false]);
  });
});

describe('dismiss and snooze', () => {
  async function showOne(platform?: FakePlatform) {
    const hub = await start(platform);
    await connect(hub.hub, hub.socket(), 'fresh', 0);
    hub.socket().receive(ev(1));
    await hub.hub.idle();
    const item = hub.shown()[0]!;
    return { ...hub, item };
  }

  test('overlay(id) serves the text; dismiss hides it everywhere, marks its entry read and empties the badge', async () => {
    const { session, item, platform, feedUpdates } = await showOne();
    expect(await session.overlay(item.id)).toEqual(item);
    expect(await session.overlay('alert:nothing')).toBeNull();
    expect(platform.badge.current()).toBe(1);
    await session.dismissOverlay(item.id);
    expect(platform.notifier.hidden).toEqual([item.id]);
    expect(await session.overlay(item.id)).toBeNull();
    expect(platform.badge.current()).toBe(0);
    await waitUntil('the read flag', () => feedUpdates().some((update) => update.changed.some((entry) => entry.id === item.entryIds[0] && entry.read)));
    expect(feedUpdates().at(-1)?.unread).toBe(0);
  });

  test('snooze hides it, leaves it unread, and shows it again after exactly the delay', async () => {
    const { session, item, platform, shown, hub } = await showOne();
    await session.dismissOverlay(item.id, 5);
    expect(platform.notifier.hidden).toEqual([item.id]);
    expect(await session.overlay(item.id)).toBeNull();
    vi.advanceTimersByTime(5 * 60_000 - 1);
    expect(shown()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(shown()).toEqual([item, item]);
    expect(await session.overlay(item.id)).toEqual(item);
    await hub.idle();
    expect(platform.badge.current()).toBe(1);
  });

  test('a snooze survives a restart: re-armed for the time left, shown once', async () => {
    const first = await showOne();
    await first.session.dismissOverlay(first.item.id, 5);
    await first.hub.idle();
    vi.advanceTimersByTime(2 * 60_000);
    first.hub.close();
    const second = await start(createFakePlatform({ indexedDB: first.platform.indexedDB }));
    await second.hub.idle();
    expect(await second.session.overlay(first.item.id)).toBeNull();
    vi.advanceTimersByTime(3 * 60_000 - 1);
    expect(second.platform.notifier.shown).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(second.platform.notifier.shown.map((call) => call.item)).toEqual([first.item]);
    expect(await second.session.overlay(first.item.id)).toEqual(first.item);
  });

  test('a snooze that ended while the worker was stopped shows at the next start', async () => {
    const first = await showOne();
    await first.session.dismissOverlay(first.item.id, 5);
    await first.hub.idle();
    first.hub.close();
    vi.advanceTimersByTime(60 * 60_000);
    const second = await start(createFakePlatform({ indexedDB: first.platform.indexedDB }));
    await second.hub.idle();
    vi.advanceTimersByTime(0);
    expect(second.platform.notifier.shown.map((call) => call.item)).toEqual([first.item]);
  });

  test('dismissing a snoozed overlay ends the snooze for good and marks it read', async () => {
    const { session, item, platform, shown, hub } = await showOne();
    await session.dismissOverlay(item.id, 5);
    await session.dismissOverlay(item.id);
    await hub.idle();
    expect(platform.badge.current()).toBe(0);
    vi.advanceTimersByTime(10 * 60_000);
    expect(shown()).toHaveLength(1);
    hub.close();
    const again = await start(createFakePlatform({ indexedDB: platform.indexedDB }));
    await again.hub.idle();
    vi.advanceTimersByTime(10 * 60_000);
    expect(again.platform.notifier.shown).toHaveLength(0);
  });

  test('bad arguments are refused', async () => {
    const { session, item } = await showOne();
    await expect(session.dismissOverlay(item.id, -1)).rejects.toThrow(TypeError);
    await expect(session.dismissOverlay(item.id, Number.NaN)).rejects.toThrow(TypeError);
    await expect(session.dismissOverlay(5 as unknown as string)).rejects.toThrow(TypeError);
    expect(await session.overlay(item.id)).toEqual(item);
  });

  test('after a restart the overlay is still served and a dismiss still marks it read', async () => {
    const first = await showOne();
    await first.hub.idle();
    first.hub.close();
    const second = await start(createFakePlatform({ indexedDB: first.platform.indexedDB }));
    expect(await second.session.overlay(first.item.id)).toEqual(first.item);
    await second.session.dismissOverlay(first.item.id);
    expect(second.platform.notifier.hidden).toEqual([first.item.id]);
    expect(second.platform.badge.current()).toBe(0);
  });

  test('dismissing an unknown id still hides it (an overlay left on screen) and changes nothing else', async () => {
    const { session, platform } = await start();
    await session.dismissOverlay('alert:gone');
    expect(platform.notifier.hidden).toEqual(['alert:gone']);
  });
});
