/**
 * The hub's stream topics inside the hub: what it subscribes, how it stores and announces events,
 * read flags, and closing. Fake sockets scripted frame by frame, a fresh fake-indexeddb per test,
 * fake timers that leave `setImmediate` (and so IndexedDB) real. Recovery: feed-recovery.test.ts.
 */
import { describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import type { TopicUpdate } from '../../lib/rpc/hub-api';
import { createFakePlatform, jwtFor, TEST_SETTINGS, waitUntil } from '../support/fake-socket';
import { connect, ev, freshStart, ids, start, streamSubscribes, view } from '../support/feed-hub';
import { useHubHarness } from '../support/hub-harness';

useHubHarness();

describe('subscribing', () => {
  test('on open the hub subscribes feed:<user from welcome> and news, last 50, with no since on first install', async () => {
    const { hub, socket } = await start();
    const frames = await connect(hub, socket());
    expect(frames).toEqual(
      expect.arrayContaining([
        { t: 'subscribe', topic: 'feed:ann', last: 50 },
        { t: 'subscribe', topic: 'news', last: 50 },
      ]),
    );
    expect(frames).toHaveLength(2);
  });

  test('a view subscribing to a stream topic sends nothing more', async () => {
    const { hub, socket } = await start();
    await connect(hub, socket());
    await hub.openSession().subscribe(['news', 'feed:ann']);
    expect(streamSubscribes(socket())).toHaveLength(2);
  });

  test('after a reconnect the hub subscribes since its cursors', async () => {
    const { hub, socket, platform } = await start();
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1), ev('feed:ann', 'f1', 2)]);
    socket().serverClose(CloseCode.abnormal);
    vi.runOnlyPendingTimers();
    expect(platform.sockets.all).toHaveLength(2);
    const frames = await connect(hub, socket());
    expect(frames).toEqual(
      expect.arrayContaining([
        { t: 'subscribe', topic: 'feed:ann', since: { epoch: 'f1', seq: 2 }, last: 50 },
        { t: 'subscribe', topic: 'news', since: { epoch: 'n1', seq: 0 }, last: 50 },
      ]),
    );
  });

  test('a hub restart on the same database subscribes since the stored cursor and shows the stored feed and badge', async () => {
    const first = await start();
    await connect(first.hub, first.socket());
    await freshStart(first.hub, first.socket(), [ev('feed:ann', 'f1', 1), ev('feed:ann', 'f1', 2), ev('feed:ann', 'f1', 3)]);
    await first.hub.idle();
    first.hub.close();

    // Before it connects, the hub knows whose feed to show from the token's subject.
    const settings = { ...TEST_SETTINGS, token: jwtFor('ann') };
    const second = await start(createFakePlatform({ indexedDB: first.platform.indexedDB, settings }));
    await waitUntil('the badge', () => second.platform.badge.counts.length > 0);
    expect(second.platform.badge.counts).toEqual([3]);
    const page = await second.hub.openSession().feed();
    expect(ids(page.entries)).toEqual(['feed:ann/f1/3', 'feed:ann/f1/2', 'feed:ann/f1/1']);
    expect(page.unread).toBe(3);
    const frames = await connect(second.hub, second.socket());
    expect(frames).toContainEqual({ t: 'subscribe', topic: 'feed:ann', since: { epoch: 'f1', seq: 3 }, last: 50 });
  });

  test("another user: their feed topic is subscribed, the old one no longer; the last user's entries stay stored but are not shown", async () => {
    const { hub, socket, platform } = await start();
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1), ev('news', 'n1', 1)]);
    await hub.idle();
    const session = hub.openSession();
    expect(ids((await session.feed()).entries)).toEqual(['news/n1/1', 'feed:ann/f1/1']);
    await session.saveSettings({ serverUrl: 'http://127.0.0.1:8787', token: jwtFor('bob') });
    const frames = await connect(hub, socket(), 'bob');
    expect(frames.map((frame) => frame.topic).sort()).toEqual(['feed:bob', 'news']);
    expect(frames).toContainEqual({ t: 'subscribe', topic: 'feed:bob', last: 50 });
    // Bob sees everyone's news, not Ann's feed, and counts only what he can see.
    expect(await session.feed()).toMatchObject({ unread: 1 });
    expect(ids((await session.feed()).entries)).toEqual(['news/n1/1']);
    await waitUntil('the badge', () => platform.badge.current() === 1);
    // "Mark all read" as Bob leaves Ann's entry unread for when she is back.
    await session.markAllRead();
    await session.saveSettings({ serverUrl: 'http://127.0.0.1:8787', token: jwtFor('ann') });
    const back = await hub.openSession().feed();
    expect(back.entries.map((entry) => [entry.id, entry.kind === 'notification' && entry.read])).toEqual([
      ['news/n1/1', true],
      ['feed:ann/f1/1', false],
    ]);
    expect(back.unread).toBe(1);
  });
});

describe('storing and announcing', () => {
  test('events reach every view as FeedUpdates after they are stored, and the badge counts them', async () => {
    const { hub, socket, platform } = await start();
    const a = view();
    const b = view();
    await hub.openSession().listen(a.listener);
    const sb = hub.openSession();
    await sb.listen(b.listener);
    await sb.subscribe(['prices:AAPL']);
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1), ev('feed:ann', 'f1', 2)]);
    // Announced in seq order: once the last one reached a view, everything before it had.
    await waitUntil('the last event in both views', () => a.announced().includes('feed:ann/f1/2') && b.announced().includes('feed:ann/f1/2'));
    expect(a.announced()).toEqual(['feed:ann/f1/1', 'feed:ann/f1/2']);
    expect(b.announced()).toEqual(['feed:ann/f1/1', 'feed:ann/f1/2']);
    expect(a.unread()).toBe(2);
    expect(platform.badge.current()).toBe(2);
    expect(a.feedUpdates()[0]?.changed[0]).toMatchObject({ kind: 'notification', title: 'feed:ann #1', read: false });
  });

  test('a replayed event is stored and shown once', async () => {
    const { hub, socket } = await start();
    const a = view();
    await hub.openSession().listen(a.listener);
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1)]);
    socket().receive(ev('feed:ann', 'f1', 1)).receive(ev('feed:ann', 'f1', 2)).receive(ev('feed:ann', 'f1', 2));
    await hub.idle();
    await waitUntil('the new event in the view', () => a.announced().includes('feed:ann/f1/2'));
    expect(a.feedUpdates().flatMap((update) => ids(update.changed))).toEqual(['feed:ann/f1/1', 'feed:ann/f1/2']);
    expect(ids((await hub.openSession().feed()).entries)).toEqual(['feed:ann/f1/2', 'feed:ann/f1/1']);
  });

  test('frames arriving while a write is in flight wait their turn: stored and announced in seq order', async () => {
    const { hub, socket } = await start();
    const a = view();
    await hub.openSession().listen(a.listener);
    await connect(hub, socket());
    await freshStart(hub, socket());
    socket().receive(ev('feed:ann', 'f1', 1));
    // The first write is now in flight; these arrive during it, in one task and across tasks.
    socket().receive(ev('feed:ann', 'f1', 2)).receive({ t: 'batch', frames: [ev('feed:ann', 'f1', 3), ev('feed:ann', 'f1', 4)] });
    await new Promise<void>((resolve) => setImmediate(resolve));
    socket().receive(ev('feed:ann', 'f1', 5));
    await hub.idle();
    await waitUntil('the last event in the view', () => a.announced().includes('feed:ann/f1/5'));
    const announced = a.feedUpdates().flatMap((update) => ids(update.changed));
    expect(announced).toEqual([1, 2, 3, 4, 5].map((seq) => `feed:ann/f1/${seq}`));
    expect(a.unread()).toBe(5);
    const page = await hub.openSession().feed();
    expect(ids(page.entries)).toEqual([5, 4, 3, 2, 1].map((seq) => `feed:ann/f1/${seq}`));
  });

  test('events before the answer to the subscription, or of a topic the hub did not subscribe, are not stored', async () => {
    const { hub, socket, platform } = await start();
    await connect(hub, socket());
    socket().receive(ev('feed:ann', 'f1', 1)).receive(ev('feed:mallory', 'm1', 1));
    await hub.idle();
    expect((await hub.openSession().feed()).entries).toEqual([]);
    expect(platform.log.warnings().map((entry) => entry.message)).toContain('ignored a frame for a stream the hub did not subscribe');
  });
});

describe('read flags', () => {
  test('markRead and markAllRead persist, reach every view at once, and update the badge', async () => {
    const { hub, socket, platform } = await start();
    const a = view();
    const b = view();
    const sa = hub.openSession();
    await sa.listen(a.listener);
    await hub.openSession().listen(b.listener);
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1), ev('feed:ann', 'f1', 2), ev('feed:ann', 'f1', 3)]);

    await sa.markRead(['feed:ann/f1/2', 'no-such-id']);
    await waitUntil('the read flag in both views', () => a.unread() === 2 && b.unread() === 2);
    for (const v of [a, b]) {
      expect(v.feedUpdates().at(-1)).toEqual({
        kind: 'feed',
        changed: [expect.objectContaining({ id: 'feed:ann/f1/2', read: true })],
        unread: 2,
      });
    }
    expect(platform.badge.current()).toBe(2);

    await sa.markAllRead();
    await waitUntil('all read in the view', () => b.unread() === 0);
    expect(ids(b.feedUpdates().at(-1)?.changed ?? []).sort()).toEqual(['feed:ann/f1/1', 'feed:ann/f1/3']);
    expect(b.unread()).toBe(0);
    expect(platform.badge.current()).toBe(0);
    const page = await sa.feed();
    expect(page.unread).toBe(0);
    expect(page.entries.every((entry) => entry.read)).toBe(true);

    // Nothing changed, nothing announced: the next event's update is the only one after it.
    const count = b.feedUpdates().length;
    await sa.markAllRead();
    socket().receive(ev('feed:ann', 'f1', 4));
    await hub.idle();
    await waitUntil('the next event in the view', () => b.announced().includes('feed:ann/f1/4'));
    expect(b.feedUpdates().slice(count).map((update) => ids(update.changed))).toEqual([['feed:ann/f1/4']]);
  });

  test('a busy view gets the feed updates merged, never dropped', async () => {
    const { hub, socket } = await start();
    const got: TopicUpdate[][] = [];
    let release: () => void = () => {};
    const session = hub.openSession();
    await session.listen({
      status: () => {},
      updates: (batch) => {
        got.push([...batch]);
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1)]);
    socket().receive(ev('feed:ann', 'f1', 2));
    await hub.idle();
    socket().receive(ev('feed:ann', 'f1', 3));
    await hub.idle();
    await session.markRead(['feed:ann/f1/2']);
    release();
    await waitUntil('a second delivery', () => got.length === 2);
    expect(got).toHaveLength(2);
    expect(got[1]).toEqual([
      {
        kind: 'feed',
        changed: [expect.objectContaining({ id: 'feed:ann/f1/2', read: true }), expect.objectContaining({ id: 'feed:ann/f1/3', read: false })],
        unread: 2,
      },
    ]);
  });

  test('bad arguments are TypeErrors and change nothing', async () => {
    const { hub } = await start();
    const session = hub.openSession();
    await expect(session.feed('ten' as unknown as number)).rejects.toBeInstanceOf(TypeError);
    await expect(session.markRead('feed:ann/f1/1' as unknown as string[])).rejects.toBeInstanceOf(TypeError);
    await expect(session.markRead([1] as unknown as string[])).rejects.toBeInstanceOf(TypeError);
    expect(await session.feed(10_000)).toEqual({ entries: [], unread: 0 });
  });
});

describe('closing', () => {
  test('close() with stream work pending leaves no timers and no unhandled errors', async () => {
    const { hub, socket } = await start();
    await connect(hub, socket());
    await freshStart(hub, socket());
    socket().receive(ev('feed:ann', 'f1', 1)).receive(ev('feed:ann', 'f1', 2));
    hub.close();
    expect(vi.getTimerCount()).toBe(0);
    await hub.idle();
  });
});
