/**
 * The hub's stream topics after a gap: recovered, trimmed and changed epochs, refused cursors, a
 * live subscription the server starts over, and a failed write. Fake sockets scripted frame by
 * frame, a fresh fake-indexeddb per test, fake timers that leave `setImmediate` (and so IndexedDB) real.
 */
import { IDBObjectStore } from 'fake-indexeddb';
import { describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { connect, ev, freshStart, ids, start, streamSubscribes, subscribed, view } from '../support/feed-hub';
import { waitUntil } from '../support/fake-socket';
import { useHubHarness } from '../support/hub-harness';

useHubHarness();

/** ann's hub with two feed events stored, cut off abnormally and connected again, and a view listening to it. */
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

describe('recovery', () => {
  test('recovered: the missed events arrive once, in order, with no gap marker', async () => {
    const { hub, socket, a } = await withStoredFeed();
    socket().receive(subscribed('feed:ann', 'recovered', { epoch: 'f1', seq: 4 }, 3));
    socket().receive({ t: 'batch', frames: [ev('feed:ann', 'f1', 3), ev('feed:ann', 'f1', 4)] });
    await hub.idle();
    // Announced in order: once the last one reached the view, everything before it had.
    await waitUntil('the last missed event in the view', () => a.announced().includes('feed:ann/f1/4'));
    expect(a.announced()).toEqual(['feed:ann/f1/1', 'feed:ann/f1/2', 'feed:ann/f1/3', 'feed:ann/f1/4']);
    expect(a.feedUpdates().flatMap((update) => update.changed).some((entry) => entry.kind === 'gap')).toBe(false);
  });

  test('trimmed: a gap marker says how many were missed; the newest events follow it', async () => {
    const { hub, socket, a } = await withStoredFeed();
    // The cursor is at 2; the log now holds 8..10 only: 3..7 (5 events) are gone.
    socket().receive(subscribed('feed:ann', 'trimmed', { epoch: 'f1', seq: 10 }, 8));
    socket().receive({ t: 'batch', frames: [ev('feed:ann', 'f1', 8), ev('feed:ann', 'f1', 9), ev('feed:ann', 'f1', 10)] });
    await hub.idle();
    await waitUntil('the newest event in the view', () => a.announced().includes('feed:ann/f1/10'));
    const last = a.feedUpdates().at(-1);
    expect(last?.changed[0]).toMatchObject({ kind: 'gap', reason: 'trimmed', missed: 5, topic: 'feed:ann' });
    expect(last?.unread).toBe(5);
    const page = await hub.openSession().feed();
    expect(page.entries.map((entry) => (entry.kind === 'gap' ? `gap ${entry.missed}` : entry.seq))).toEqual([10, 9, 8, 'gap 5', 2, 1]);
  });

  test('epoch changed: a gap marker with an unknown count, the newest events of the new epoch, the cursor moved', async () => {
    const { hub, socket, a, platform } = await withStoredFeed();
    socket().receive(subscribed('feed:ann', 'epoch changed', { epoch: 'f2', seq: 1 }, 1));
    socket().receive(ev('feed:ann', 'f2', 1));
    await hub.idle();
    await waitUntil('the new epoch in the view', () => a.announced().includes('feed:ann/f2/1'));
    expect(a.feedUpdates().at(-1)?.changed.map((entry) => entry.id)).toEqual(['gap/feed:ann/f2/1', 'feed:ann/f2/1']);
    expect(a.feedUpdates().at(-1)?.changed[0]).toMatchObject({ reason: 'epoch changed', missed: null });
    socket().serverClose(CloseCode.abnormal);
    vi.runOnlyPendingTimers();
    expect(await connect(hub, socket())).toContainEqual({ t: 'subscribe', topic: 'feed:ann', since: { epoch: 'f2', seq: 1 }, last: 50 });
    expect(platform.badge.current()).toBe(3);
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
    await waitUntil('the gap in the view', () => a.feedUpdates().some((update) => update.changed.some((entry) => entry.kind === 'gap')));
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

describe('a long replay in batch frames', () => {
  test('frames that arrive together are one transaction with the cursor: every event once, in order, the cursor at the last', async () => {
    const { a, ...setup } = await withStoredFeed();
    const socket = setup.socket();
    const transactions = vi.spyOn(IDBDatabase.prototype, 'transaction');
    const writesWithCursor = () => transactions.mock.calls.filter(([names, mode]) => mode === 'readwrite' && [names].flat().includes('cursors')).length;

    socket.receive(subscribed('feed:ann', 'recovered', { epoch: 'f1', seq: 2002 }, 3));
    for (let frame = 0; frame < 10; frame++) {
      socket.receive({ t: 'batch', frames: Array.from({ length: 200 }, (_, i) => ev('feed:ann', 'f1', 3 + frame * 200 + i)) });
    }
    await setup.hub.idle();
    expect(writesWithCursor()).toBe(1);
    const seqs = Array.from({ length: 2002 }, (_, i) => i + 1);
    await waitUntil('the last replayed event in the view', () => a.announced().includes('feed:ann/f1/2002'));
    expect(a.announced()).toEqual(seqs.map((seq) => `feed:ann/f1/${seq}`));
    expect(a.unread()).toBe(2002);
    expect((await setup.hub.openSession().feed()).unread).toBe(2002);
    // The cursor moved with them: the next connection asks from the last one.
    socket.serverClose(CloseCode.abnormal);
    vi.runOnlyPendingTimers();
    await connect(setup.hub, setup.socket());
    expect(streamSubscribes(setup.socket()).find((frame) => frame.topic === 'feed:ann')).toMatchObject({ since: { epoch: 'f1', seq: 2002 } });
  });
});

describe('the journal of a long replay', () => {
  /** Journal records in the hub's database, read raw. */
  async function journalRecords(indexedDB: IDBFactory): Promise<number> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('switchboard-hub');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    try {
      return await new Promise<number>((resolve, reject) => {
        const request = db.transaction('journal', 'readonly').objectStore('journal').count();
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    } finally {
      db.close();
    }
  }

  test('is moved into the feed once the streams were quiet for a second, not before', async () => {
    const { hub, socket, platform } = await start();
    const a = view();
    await hub.openSession().listen(a.listener);
    await connect(hub, socket());
    socket().receive(subscribed('news', 'fresh', { epoch: 'n1', seq: 0 }));
    socket().receive(subscribed('feed:ann', 'fresh', { epoch: 'f1', seq: 500 }, 1));
    socket().receive({ t: 'batch', frames: Array.from({ length: 500 }, (_, i) => ev('feed:ann', 'f1', i + 1)) });
    await waitUntil('the replay in the view', () => a.announced().includes('feed:ann/f1/500'));
    expect(await journalRecords(platform.indexedDB)).toBe(1);
    vi.advanceTimersByTime(999);
    expect(await journalRecords(platform.indexedDB)).toBe(1);
    vi.advanceTimersByTime(1);
    await waitUntil('the journal moved', async () => (await journalRecords(platform.indexedDB)) === 0);
    expect((await hub.openSession().feed(500)).entries).toHaveLength(500);
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
    await waitUntil('the new epoch in the view', () => a.announced().includes('feed:ann/f2/1'));
    expect(a.announced()).toEqual(['feed:ann/f1/1', 'gap/feed:ann/f2/1', 'feed:ann/f2/1']);
    expect(socket().sentOf('unsubscribe')).toEqual([]);
  });
});

describe('answers that do not add up', () => {
  test.each([
    ['0 (it would put the cursor at -1, which no subscribe can carry)', 0],
    ['past the head (it would skip events that exist)', 6],
  ])('a subscribed whose first event is %s is refused: the cursor stays, and the topic subscribes again since it', async (_name, from) => {
    const { hub, socket, platform } = await start();
    await connect(hub, socket());
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1), ev('feed:ann', 'f1', 2)]);
    socket().serverClose(CloseCode.abnormal);
    vi.runOnlyPendingTimers();
    await connect(hub, socket());
    socket().receive(subscribed('feed:ann', 'recovered', { epoch: 'f1', seq: 4 }, from));
    await hub.idle();
    expect(platform.log.warnings()).toContainEqual(
      expect.objectContaining({ message: 'a stream failed; it subscribes again later', data: expect.objectContaining({ error: expect.stringMatching(/outside 1 to 5/) }) }),
    );
    vi.advanceTimersByTime(500);
    await hub.idle();
    expect(streamSubscribes(socket()).at(-1)).toEqual({ t: 'subscribe', topic: 'feed:ann', since: { epoch: 'f1', seq: 2 }, last: 50 });
    expect(platform.log.warnings().map((entry) => entry.message)).not.toContain('send failed');
  });
});

describe('storage failures', () => {
  test('a failed write stops the topic and subscribes again since the unchanged cursor after the backoff delay', async () => {
    const { hub, socket, platform } = await start();
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
    expect(platform.log.warnings().map((entry) => entry.message)).toContain('a stream failed; it subscribes again later');
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
