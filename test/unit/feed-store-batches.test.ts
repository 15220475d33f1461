/**
 * The feed store taking a replay in large batches, on fake-indexeddb (a fresh database per test):
 * thousands of events and the cursor in one transaction, written as one journal record; the
 * journal counted by appends and moved into the feed before every read; nothing stored twice
 * across batches, refused cursors and epochs the feed already held; and a failure in the middle
 * of any of these transactions leaving the cursor and the entries as they were.
 */
import 'fake-indexeddb/auto';
import { IDBObjectStore } from 'fake-indexeddb';
import { describe, expect, test, vi } from 'vitest';
import type { FeedEntry } from '../../lib/rpc/feed-entry';
import type { EventFrame } from '../../lib/wire/protocol';
import type { StreamStart } from '../../worker/core/feed/cursor';
import type { HubDb, StoredEntry } from '../../worker/store/db';
import { JOURNAL_MIN_ENTRIES } from '../../worker/store/feed-journal';
import { createFeedStore } from '../../worker/store/feed-store';
import { setup, useFeedStoreHarness } from '../support/feed-store';

useFeedStoreHarness();

const event = (topic: string, epoch: string, seq: number): EventFrame => ({ t: 'event', topic, epoch, seq, data: { title: `#${seq}`, body: '' }, at: 1000 + seq });
const events = (topic: string, epoch: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => event(topic, epoch, from + i));
const fresh = (epoch: string, next: number): StreamStart => ({ epoch, next, cursorRefused: false });
const ids = (entries: readonly FeedEntry[]) => entries.map((entry) => entry.id);

/** Every record of a store, read raw. */
async function all<T>(db: HubDb, name: 'feed' | 'journal'): Promise<T[]> {
  return (await (await db.get()).getAll(name)) as T[];
}

/** Notification ids in the `feed` store, as `epoch/seq`, sorted; throws if one is there twice. */
async function storedSeqs(db: HubDb, topic: string): Promise<string[]> {
  const entries = (await all<StoredEntry>(db, 'feed')).map((row) => row.entry).filter((entry) => entry.kind === 'notification' && entry.topic === topic);
  const keys = entries.map((entry) => (entry.kind === 'notification' ? `${entry.epoch}/${entry.seq}` : ''));
  expect(new Set(keys).size).toBe(keys.length);
  return keys.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** Makes the `n`th and later calls of `method` on one object store throw, as a disk filling up would. */
function failFrom(method: 'put' | 'add', storeName: string, n: number) {
  const original = IDBObjectStore.prototype[method] as (...args: unknown[]) => IDBRequest;
  let calls = 0;
  const failing = function (this: IDBObjectStore, ...args: unknown[]) {
    if (this.name === storeName && ++calls >= n) throw new DOMException('The disk is full', 'QuotaExceededError');
    return original.apply(this, args);
  };
  return vi.spyOn(IDBObjectStore.prototype, method).mockImplementation(failing as never);
}

describe('a replay in one transaction', () => {
  test('thousands of events: one journal record and the cursor, every entry shown once, then moved into the feed', async () => {
    const { db, store } = setup();
    const result = await store.append('feed:ann', fresh('e1', 1), events('feed:ann', 'e1', 1, 5000), 0);
    expect(result).toMatchObject({ journaled: true, cursor: { epoch: 'e1', seq: 5000 }, unread: 5000, duplicates: 0 });
    expect(result.changed).toHaveLength(5000);
    expect(await store.cursor('feed:ann')).toEqual({ epoch: 'e1', seq: 5000 });
    expect(await all(db, 'feed')).toHaveLength(0);
    expect(await all(db, 'journal')).toHaveLength(1);

    await store.settle();
    expect(await all(db, 'journal')).toHaveLength(0);
    expect(await storedSeqs(db, 'feed:ann')).toEqual(events('feed:ann', 'e1', 1, 5000).map((e) => `e1/${e.seq}`));
    expect(await store.unread()).toBe(5000);
    // The same replay again (the server answers a retried subscribe the same way): nothing twice.
    const again = await store.append('feed:ann', null, events('feed:ann', 'e1', 1, 5000), 0);
    expect(again).toMatchObject({ duplicates: 5000, changed: [], journaled: false });
  });

  test(`fewer than ${JOURNAL_MIN_ENTRIES} new entries go straight into the feed`, async () => {
    const { db, store } = setup();
    const result = await store.append('news', fresh('e1', 1), events('news', 'e1', 1, JOURNAL_MIN_ENTRIES - 1), 0);
    expect(result.journaled).toBe(false);
    expect(await all(db, 'feed')).toHaveLength(JOURNAL_MIN_ENTRIES - 1);
    expect(await all(db, 'journal')).toHaveLength(0);
  });

  test('journaled entries are what every read and mark-read sees, before anything moved them', async () => {
    const { store } = setup();
    await store.append('feed:ann', fresh('e1', 1), events('feed:ann', 'e1', 1, 100), 0);
    const page = await store.page(3);
    expect(page).toMatchObject({ unread: 100 });
    expect(ids(page.entries)).toEqual(['feed:ann/e1/100', 'feed:ann/e1/99', 'feed:ann/e1/98']);

    await store.append('feed:ann', null, events('feed:ann', 'e1', 101, 200), 0);
    expect(await store.markRead(['feed:ann/e1/150', 'feed:ann/e1/7'])).toMatchObject({ unread: 198 });
    await store.append('news', fresh('n1', 1), events('news', 'n1', 1, 70), 0);
    expect((await store.markAllRead()).changed).toHaveLength(268);
    expect(await store.unread()).toBe(0);
  });

  test('consecutive large batches each add a journal record without moving the last: the unread count covers them all', async () => {
    const { db, store } = setup();
    await store.append('news', fresh('n1', 1), events('news', 'n1', 1, 100), 0);
    // A start may look entries up: it moves the news journal first.
    const first = await store.append('feed:ann', fresh('e1', 1), events('feed:ann', 'e1', 1, 1000), 0);
    expect(await all(db, 'feed')).toHaveLength(100);
    // Overlapping the first: a replay that started over.
    const second = await store.append('feed:ann', null, events('feed:ann', 'e1', 990, 9000), 0);
    const third = await store.append('feed:ann', null, events('feed:ann', 'e1', 9001, 10_000), 0);
    expect([first.journaled, second.journaled, third.journaled]).toEqual([true, true, true]);
    expect(second).toMatchObject({ duplicates: 11, unread: 9100, cursor: { epoch: 'e1', seq: 9000 } });
    expect(ids(second.changed)[0]).toBe('feed:ann/e1/1001');
    expect(third).toMatchObject({ unread: 10_100, cursor: { epoch: 'e1', seq: 10_000 } });
    expect(await all(db, 'journal')).toHaveLength(3);
    expect(await all(db, 'feed')).toHaveLength(100);
    // Reading moves them all, once.
    expect((await store.page(1)).unread).toBe(10_100);
    expect(await all(db, 'journal')).toHaveLength(0);
    expect(await storedSeqs(db, 'feed:ann')).toHaveLength(10_000);
    expect(await storedSeqs(db, 'news')).toHaveLength(100);
  });

  test('a read that keeps finding a new journal (a replay still being written) still sees every entry', async () => {
    const { db, store: writer } = setup();
    await writer.append('feed:ann', fresh('e1', 1), events('feed:ann', 'e1', 1, 100), 0);
    let next = 101;
    // Each time the reader takes the connection, the replay has written one more large batch.
    const racing: HubDb = {
      async get() {
        const conn = await db.get();
        if (next <= 2000) {
          const from = next;
          next += 100;
          await writer.append('feed:ann', null, events('feed:ann', 'e1', from, from + 99), 0);
        }
        return conn;
      },
      close: () => db.close(),
    };
    const page = await createFeedStore(racing, () => 'ann').page(1);
    const written = next - 1;
    expect(page.unread).toBe(written);
    expect(ids(page.entries)).toEqual([`feed:ann/e1/${written}`]);
    expect(await storedSeqs(db, 'feed:ann')).toHaveLength(written);
  });

  test('an append that must look entries up moves the journal first', async () => {
    const { db, store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 100), 0);
    // A jump the server did not announce: its gap marker is looked up, so the journal goes first.
    const jumped = await store.append('news', null, [event('news', 'e1', 105)], 0);
    expect(jumped).toMatchObject({ jumps: 1, journaled: false, unread: 101 });
    expect(await all(db, 'journal')).toHaveLength(0);
    expect(await storedSeqs(db, 'news')).toHaveLength(101);
  });
});

describe('nothing stored twice across transactions', () => {
  test('a refused cursor replayed over several batches keeps every stored entry and its read flag', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 300), 0);
    await store.markRead(['news/e1/250']);
    // The server refused the cursor; the hub resubscribed without it and the log starts at 1 again.
    const restart = await store.append('news', { epoch: 'e1', next: 1, cursorRefused: true }, events('news', 'e1', 1, 100), 0);
    expect(restart.changed.map((entry) => entry.kind)).toEqual(['gap']);
    const middle = await store.append('news', null, events('news', 'e1', 101, 301), 0);
    expect(ids(middle.changed)).toEqual(['news/e1/301']);
    const page = await store.page(500);
    expect(page.entries.filter((entry) => entry.kind === 'notification')).toHaveLength(301);
    expect(page.entries.find((entry) => entry.id === 'news/e1/250')).toMatchObject({ read: true });
    expect(page.unread).toBe(300);
    // Past what was stored before, events are new again and need no look-up.
    expect(ids((await store.append('news', null, events('news', 'e1', 302, 303), 0)).changed)).toEqual(['news/e1/302', 'news/e1/303']);
  });

  test('a start into an epoch the feed already holds (a server restored to an older log) stores none of it twice', async () => {
    const { db, store } = setup();
    await store.append('news', fresh('old', 1), events('news', 'old', 1, 80), 0);
    await store.markRead(['news/old/5']);
    await store.append('news', { epoch: 'new', next: 1, cursorRefused: false }, events('news', 'new', 1, 3), 0);
    const back = await store.append('news', { epoch: 'old', next: 1, cursorRefused: false }, events('news', 'old', 1, 40), 0);
    expect(back.changed.map((entry) => entry.kind)).toEqual(['gap']);
    const rest = await store.append('news', null, events('news', 'old', 41, 90), 0);
    expect(ids(rest.changed)).toEqual(events('news', 'old', 81, 90).map((e) => `news/old/${e.seq}`));
    await store.settle();
    expect(await storedSeqs(db, 'news')).toHaveLength(93);
    expect((await store.page(500)).entries.find((entry) => entry.id === 'news/old/5')).toMatchObject({ read: true });
  });
});

describe('a failure in the middle of a transaction', () => {
  test('of a large batch: no journal, no entry and no cursor move; offered again, it all goes in once', async () => {
    const { db, store } = setup();
    await store.append('feed:ann', fresh('e1', 1), events('feed:ann', 'e1', 1, 10), 0);
    const failing = failFrom('add', 'journal', 1);
    await expect(store.append('feed:ann', null, events('feed:ann', 'e1', 11, 2000), 0)).rejects.toThrow('The disk is full');
    failing.mockRestore();
    expect(await store.cursor('feed:ann')).toEqual({ epoch: 'e1', seq: 10 });
    expect(await all(db, 'journal')).toHaveLength(0);
    expect(await store.unread()).toBe(10);
    const retried = await store.append('feed:ann', null, events('feed:ann', 'e1', 11, 2000), 0);
    expect(retried.changed).toHaveLength(1990);
    await store.settle();
    expect(await storedSeqs(db, 'feed:ann')).toHaveLength(2000);
  });

  test('of a small batch, half written: neither its entries nor the cursor moved', async () => {
    const { db, store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 2), 0);
    const failing = failFrom('put', 'feed', 20);
    await expect(store.append('news', null, events('news', 'e1', 3, 40), 0)).rejects.toThrow('The disk is full');
    failing.mockRestore();
    expect(await store.cursor('news')).toEqual({ epoch: 'e1', seq: 2 });
    expect(await storedSeqs(db, 'news')).toEqual(['e1/1', 'e1/2']);
  });

  test('while moving the journal: it stays whole, the feed unchanged, and the next try moves it once', async () => {
    const { db, store } = setup();
    await store.append('feed:ann', fresh('e1', 1), events('feed:ann', 'e1', 1, 500), 0);
    const failing = failFrom('put', 'feed', 250);
    await expect(store.settle()).rejects.toThrow('The disk is full');
    // A page needs the journal moved first: it fails rather than show part of the feed.
    await expect(store.page(10)).rejects.toThrow('The disk is full');
    failing.mockRestore();
    expect(await all(db, 'feed')).toHaveLength(0);
    expect(await all(db, 'journal')).toHaveLength(1);
    expect(await store.cursor('feed:ann')).toEqual({ epoch: 'e1', seq: 500 });
    expect((await store.page(10)).unread).toBe(500);
    expect(await storedSeqs(db, 'feed:ann')).toHaveLength(500);
    expect(await all(db, 'journal')).toHaveLength(0);
  });
});
