/**
 * The hub's stream topics end to end inside the hub: fake sockets scripted frame by frame, a fresh
 * fake-indexeddb per test, fake timers that leave `setImmediate` (and so IndexedDB) real.
 */
import { IDBObjectStore } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/close-codes';
import type { FeedUpdate, HubListener, HubStatus, TopicUpdate } from '../../lib/hub-api';
import type { FeedEntry } from '../../lib/notifications';
import type { EventFrame, FrameOf, ServerFrame } from '../../lib/protocol';
import { openHub, type Hub } from '../../worker/hub';
import { createFakePorts, jwtFor, TEST_SETTINGS, useHubFakeTimers, waitUntil, type FakePorts, type FakeSocket } from '../support/fake-socket';

beforeEach(() => {
  useHubFakeTimers();
});
const hubs: Hub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) {
    await hub.idle();
    hub.close();
  }
  vi.restoreAllMocks();
  vi.useRealTimers();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function ev(topic: string, epoch: string, seq: number, title = `${topic} #${seq}`): EventFrame {
  return { t: 'event', topic, epoch, seq, at: 1_000 + seq, data: { title, body: 'text' } };
}

function subscribed(
  topic: string,
  recovery: 'fresh' | 'recovered' | 'trimmed' | 'epoch changed',
  head: { epoch: string; seq: number },
  from?: number,
): FrameOf<ServerFrame, 'subscribed'> {
  return { t: 'subscribed', topic, mode: 'stream', recovery, position: head, ...(from === undefined ? {} : { from }) };
}

function view() {
  const updates: TopicUpdate[][] = [];
  const statuses: HubStatus[] = [];
  const listener: HubListener = {
    status: (status) => {
      statuses.push(status);
    },
    updates: (batch) => {
      updates.push([...batch]);
    },
  };
  const feedUpdates = (): FeedUpdate[] => updates.flat().filter((update): update is FeedUpdate => update.kind === 'feed');
  /** Every entry announced, by id, in the order first announced. */
  const announced = (): string[] => [...new Set(feedUpdates().flatMap((update) => update.changed.map((entry) => entry.id)))];
  return { listener, updates, statuses, feedUpdates, announced, unread: () => feedUpdates().at(-1)?.unread };
}

const ids = (entries: readonly FeedEntry[]) => entries.map((entry) => entry.id);

async function start(ports: FakePorts = createFakePorts()) {
  const hub = await openHub(ports, { backoffBaseMs: 1000 });
  hubs.push(hub);
  return { ports, hub, socket: () => ports.sockets.last() };
}

/** Opens the socket for `user` and waits until the hub asked for both stream topics. */
async function connect(hub: Hub, socket: FakeSocket, user = 'ann') {
  socket.accept({ user });
  await hub.idle();
  return streamSubscribes(socket);
}

function streamSubscribes(socket: FakeSocket) {
  return socket.sentOf('subscribe').filter((frame) => frame.topic === 'news' || frame.topic.startsWith('feed:'));
}

/** The server's side of a first install: both topics fresh, `news` empty, the feed at `seq`. */
async function freshStart(hub: Hub, socket: FakeSocket, feedEvents: EventFrame[] = []) {
  socket.receive(subscribed('news', 'fresh', { epoch: 'n1', seq: 0 }));
  socket.receive(subscribed('feed:ann', 'fresh', { epoch: 'f1', seq: feedEvents.at(-1)?.seq ?? 0 }, feedEvents[0]?.seq));
  if (feedEvents.length > 0) socket.receive({ t: 'batch', frames: feedEvents });
  await hub.idle();
  await settle();
}

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
    const { hub, socket, ports } = await start();
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1), ev('feed:ann', 'f1', 2)]);
    socket().serverClose(CloseCode.abnormal);
    vi.runOnlyPendingTimers();
    expect(ports.sockets.all).toHaveLength(2);
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
    const second = await start(createFakePorts({ indexedDB: first.ports.indexedDB, settings }));
    await waitUntil('the badge', () => second.ports.badge.counts.length > 0);
    expect(second.ports.badge.counts).toEqual([3]);
    const page = await second.hub.openSession().feed();
    expect(ids(page.entries)).toEqual(['feed:ann/f1/3', 'feed:ann/f1/2', 'feed:ann/f1/1']);
    expect(page.unread).toBe(3);
    const frames = await connect(second.hub, second.socket());
    expect(frames).toContainEqual({ t: 'subscribe', topic: 'feed:ann', since: { epoch: 'f1', seq: 3 }, last: 50 });
  });

  test("another user: their feed topic is subscribed, the old one no longer; the last user's entries stay stored but are not shown", async () => {
    const { hub, socket, ports } = await start();
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
    await waitUntil('the badge', () => ports.badge.current() === 1);
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
    const { hub, socket, ports } = await start();
    const a = view();
    const b = view();
    await hub.openSession().listen(a.listener);
    const sb = hub.openSession();
    await sb.listen(b.listener);
    await sb.subscribe(['prices:AAPL']);
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1), ev('feed:ann', 'f1', 2)]);
    expect(a.announced()).toEqual(['feed:ann/f1/1', 'feed:ann/f1/2']);
    expect(b.announced()).toEqual(['feed:ann/f1/1', 'feed:ann/f1/2']);
    expect(a.unread()).toBe(2);
    expect(ports.badge.current()).toBe(2);
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
    await settle();
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
    await settle();
    const announced = a.feedUpdates().flatMap((update) => ids(update.changed));
    expect(announced).toEqual([1, 2, 3, 4, 5].map((seq) => `feed:ann/f1/${seq}`));
    expect(a.unread()).toBe(5);
    const page = await hub.openSession().feed();
    expect(ids(page.entries)).toEqual([5, 4, 3, 2, 1].map((seq) => `feed:ann/f1/${seq}`));
  });

  test('events before the answer to the subscription, or of a topic the hub did not subscribe, are not stored', async () => {
    const { hub, socket, ports } = await start();
    await connect(hub, socket());
    socket().receive(ev('feed:ann', 'f1', 1)).receive(ev('feed:mallory', 'm1', 1));
    await hub.idle();
    expect((await hub.openSession().feed()).entries).toEqual([]);
    expect(ports.log.warnings().map((entry) => entry.message)).toContain('ignored a frame for a stream the hub did not subscribe');
  });
});

describe('recovery', () => {
  async function withStoredFeed() {
    const setup = await start();
    const a = view();
    await setup.hub.openSession().listen(a.listener);
    await connect(setup.hub, setup.socket());
    await freshStart(setup.hub, setup.socket(), [ev('feed:ann', 'f1', 1), ev('feed:ann', 'f1', 2)]);
    setup.socket().serverClose(CloseCode.abnormal);
    vi.runOnlyPendingTimers();
    await connect(setup.hub, setup.socket());
    return { ...setup, a };
  }

  test('recovered: the missed events arrive once, in order, with no gap marker', async () => {
    const { hub, socket, a } = await withStoredFeed();
    socket().receive(subscribed('feed:ann', 'recovered', { epoch: 'f1', seq: 4 }, 3));
    socket().receive({ t: 'batch', frames: [ev('feed:ann', 'f1', 3), ev('feed:ann', 'f1', 4)] });
    await hub.idle();
    await settle();
    expect(a.announced()).toEqual(['feed:ann/f1/1', 'feed:ann/f1/2', 'feed:ann/f1/3', 'feed:ann/f1/4']);
    expect(a.feedUpdates().flatMap((update) => update.changed).some((entry) => entry.kind === 'gap')).toBe(false);
  });

  test('trimmed: a gap marker says how many were missed; the newest events follow it', async () => {
    const { hub, socket, a } = await withStoredFeed();
    // The cursor is at 2; the log now holds 8..10 only: 3..7 (5 events) are gone.
    socket().receive(subscribed('feed:ann', 'trimmed', { epoch: 'f1', seq: 10 }, 8));
    socket().receive({ t: 'batch', frames: [ev('feed:ann', 'f1', 8), ev('feed:ann', 'f1', 9), ev('feed:ann', 'f1', 10)] });
    await hub.idle();
    await settle();
    const last = a.feedUpdates().at(-1);
    expect(last?.changed[0]).toMatchObject({ kind: 'gap', reason: 'trimmed', missed: 5, topic: 'feed:ann' });
    expect(last?.unread).toBe(5);
    const page = await hub.openSession().feed();
    expect(page.entries.map((entry) => (entry.kind === 'gap' ? `gap ${entry.missed}` : entry.seq))).toEqual([10, 9, 8, 'gap 5', 2, 1]);
  });

  test('epoch changed: a gap marker with an unknown count, the newest events of the new epoch, the cursor moved', async () => {
    const { hub, socket, a, ports } = await withStoredFeed();
    socket().receive(subscribed('feed:ann', 'epoch changed', { epoch: 'f2', seq: 1 }, 1));
    socket().receive(ev('feed:ann', 'f2', 1));
    await hub.idle();
    await settle();
    expect(a.feedUpdates().at(-1)?.changed.map((entry) => entry.id)).toEqual(['gap/feed:ann/f2/1', 'feed:ann/f2/1']);
    expect(a.feedUpdates().at(-1)?.changed[0]).toMatchObject({ reason: 'epoch changed', missed: null });
    socket().serverClose(CloseCode.abnormal);
    vi.runOnlyPendingTimers();
    expect(await connect(hub, socket())).toContainEqual({ t: 'subscribe', topic: 'feed:ann', since: { epoch: 'f2', seq: 1 }, last: 50 });
    expect(ports.badge.current()).toBe(3);
  });

  test('a refused cursor: the hub resubscribes without it and records an epoch-changed gap', async () => {
    const { hub, socket, a } = await withStoredFeed();
    socket().receive({ t: 'error', code: 'invalid', topic: 'feed:ann', message: 'cursor from the future' });
    await hub.idle();
    const frames = streamSubscribes(socket()).filter((frame) => frame.topic === 'feed:ann');
    expect(frames.at(-1)).toEqual({ t: 'subscribe', topic: 'feed:ann', last: 50 });
    socket().receive(subscribed('feed:ann', 'fresh', { epoch: 'f1', seq: 1 }, 1));
    socket().receive(ev('feed:ann', 'f1', 1, 'replaced'));
    await hub.idle();
    await settle();
    expect(a.feedUpdates().at(-1)?.changed).toEqual([expect.objectContaining({ kind: 'gap', reason: 'epoch changed', missed: null })]);
    expect(frames).toHaveLength(2);
    // A second refusal of a subscription without a cursor is not answered by a loop.
    socket().receive({ t: 'error', code: 'invalid', topic: 'feed:ann', message: 'again' });
    await hub.idle();
    expect(streamSubscribes(socket()).filter((frame) => frame.topic === 'feed:ann')).toHaveLength(2);
  });

  test('an event of another epoch under a live subscription makes the hub ask again since its cursor', async () => {
    const { hub, socket } = await withStoredFeed();
    socket().receive(subscribed('feed:ann', 'recovered', { epoch: 'f1', seq: 2 }));
    await hub.idle();
    socket().receive(ev('feed:ann', 'f9', 1));
    await hub.idle();
    expect(socket().sentOf('unsubscribe')).toEqual([{ t: 'unsubscribe', topic: 'feed:ann' }]);
    expect(streamSubscribes(socket()).at(-1)).toEqual({ t: 'subscribe', topic: 'feed:ann', since: { epoch: 'f1', seq: 2 }, last: 50 });
  });
});

describe('storage failures', () => {
  test('a failed write stops the topic and subscribes again since the unchanged cursor after the backoff delay', async () => {
    const { hub, socket, ports } = await start();
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1)]);
    const original = IDBObjectStore.prototype.put;
    const failing = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'cursors') throw new DOMException('The disk is full', 'QuotaExceededError');
      return original.apply(this, args);
    });
    socket().receive(ev('feed:ann', 'f1', 2));
    await hub.idle();
    failing.mockRestore();
    expect(socket().sentOf('unsubscribe')).toEqual([{ t: 'unsubscribe', topic: 'feed:ann' }]);
    expect(ports.log.warnings().map((entry) => entry.message)).toContain('a stream failed; it subscribes again later');
    // Events the failed subscription still sends are not stored out of order.
    socket().receive(ev('feed:ann', 'f1', 3));
    await hub.idle();
    const before = streamSubscribes(socket()).length;
    // random 0.5, base 1 s: the first retry comes after 500 ms.
    vi.advanceTimersByTime(499);
    await hub.idle();
    expect(streamSubscribes(socket())).toHaveLength(before);
    vi.advanceTimersByTime(1);
    await hub.idle();
    expect(streamSubscribes(socket()).at(-1)).toEqual({ t: 'subscribe', topic: 'feed:ann', since: { epoch: 'f1', seq: 1 }, last: 50 });
    expect(ids((await hub.openSession().feed()).entries)).toEqual(['feed:ann/f1/1']);
  });
});

describe('read flags', () => {
  test('markRead and markAllRead persist, reach every view at once, and update the badge', async () => {
    const { hub, socket, ports } = await start();
    const a = view();
    const b = view();
    const sa = hub.openSession();
    await sa.listen(a.listener);
    await hub.openSession().listen(b.listener);
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1), ev('feed:ann', 'f1', 2), ev('feed:ann', 'f1', 3)]);

    await sa.markRead(['feed:ann/f1/2', 'no-such-id']);
    await settle();
    for (const v of [a, b]) {
      expect(v.feedUpdates().at(-1)).toEqual({
        kind: 'feed',
        changed: [expect.objectContaining({ id: 'feed:ann/f1/2', read: true })],
        unread: 2,
      });
    }
    expect(ports.badge.current()).toBe(2);

    await sa.markAllRead();
    await settle();
    expect(ids(b.feedUpdates().at(-1)?.changed ?? []).sort()).toEqual(['feed:ann/f1/1', 'feed:ann/f1/3']);
    expect(b.unread()).toBe(0);
    expect(ports.badge.current()).toBe(0);
    const page = await sa.feed();
    expect(page.unread).toBe(0);
    expect(page.entries.every((entry) => entry.read)).toBe(true);

    // Nothing changed, nothing announced.
    const count = b.feedUpdates().length;
    await sa.markAllRead();
    await settle();
    expect(b.feedUpdates()).toHaveLength(count);
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
    await settle();
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

describe('the server starting a live subscription over', () => {
  test('a new subscribed while live (the topic was reset) records the gap and stores the new epoch', async () => {
    const { hub, socket } = await start();
    const a = view();
    await hub.openSession().listen(a.listener);
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1)]);
    socket().receive(subscribed('feed:ann', 'epoch changed', { epoch: 'f2', seq: 0 }));
    await hub.idle();
    socket().receive(ev('feed:ann', 'f2', 1));
    await hub.idle();
    await settle();
    expect(a.announced()).toEqual(['feed:ann/f1/1', 'gap/feed:ann/f2/1', 'feed:ann/f2/1']);
    expect(socket().sentOf('unsubscribe')).toEqual([]);
  });
});
