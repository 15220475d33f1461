/**
 * The feed store on fake-indexeddb, a fresh database per test: dedupe, one transaction for the
 * feed and the cursor, gap markers, read flags and the unread count.
 */
import 'fake-indexeddb/auto';
import { IDBObjectStore } from 'fake-indexeddb';
import { describe, expect, test, vi } from 'vitest';
import type { FeedEntry } from '../../lib/rpc/feed-entry';
import type { EventFrame } from '../../lib/wire/protocol';
import type { StreamStart } from '../../worker/core/feed/cursor';
import { setup, useFeedStoreHarness } from '../support/feed-store';

useFeedStoreHarness();

function event(topic: string, epoch: string, seq: number, data: unknown = { title: `${topic} #${seq}`, body: '' }): EventFrame {
  return { t: 'event', topic, epoch, seq, data, at: 1000 + seq };
}

const events = (topic: string, epoch: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => event(topic, epoch, from + i));

const fresh = (epoch: string, next: number): StreamStart => ({ epoch, next, cursorRefused: false });
const ids = (entries: readonly FeedEntry[]) => entries.map((entry) => entry.id);

/** Makes `put` on one object store throw, as a full disk would. */
function failPutsOn(storeName: string) {
  const original = IDBObjectStore.prototype.put;
  return vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    if (this.name === storeName) throw new DOMException('The disk is full', 'QuotaExceededError');
    return original.apply(this, args);
  });
}

describe('storing events', () => {
  test('a first start sets the cursor; events are stored unread and the page is newest first', async () => {
    const { store } = setup();
    const result = await store.append('feed:ann', fresh('e1', 1), events('feed:ann', 'e1', 1, 3), 0);
    expect(ids(result.changed)).toEqual(['feed:ann/e1/1', 'feed:ann/e1/2', 'feed:ann/e1/3']);
    expect(result).toMatchObject({ unread: 3, cursor: { epoch: 'e1', seq: 3 }, duplicates: 0 });
    expect(await store.cursor('feed:ann')).toEqual({ epoch: 'e1', seq: 3 });
    const page = await store.page(50);
    expect(ids(page.entries)).toEqual(['feed:ann/e1/3', 'feed:ann/e1/2', 'feed:ann/e1/1']);
    expect(page.unread).toBe(3);
    expect(page.entries[0]).toMatchObject({ kind: 'notification', title: 'feed:ann #3', read: false });
  });

  test('a replayed event is stored once and announced once', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 2), 0);
    const again = await store.append('news', null, events('news', 'e1', 1, 3), 0);
    expect(ids(again.changed)).toEqual(['news/e1/3']);
    expect(again.duplicates).toBe(2);
    expect(ids((await store.page(50)).entries)).toEqual(['news/e1/3', 'news/e1/2', 'news/e1/1']);
  });

  test('the same event twice in one batch is stored once', async () => {
    const { store } = setup();
    const result = await store.append('news', fresh('e1', 1), [event('news', 'e1', 1), event('news', 'e1', 1)], 0);
    expect(ids(result.changed)).toEqual(['news/e1/1']);
    expect(result.duplicates).toBe(1);
  });

  test('cursors are per topic', async () => {
    const { store } = setup();
    await store.append('news', fresh('n1', 5), [event('news', 'n1', 5)], 0);
    await store.append('feed:ann', fresh('f1', 1), [event('feed:ann', 'f1', 1)], 0);
    expect(await store.cursor('news')).toEqual({ epoch: 'n1', seq: 5 });
    expect(await store.cursor('feed:ann')).toEqual({ epoch: 'f1', seq: 1 });
    expect(await store.cursor('feed:bob')).toBeNull();
  });

  test('events before any start (no cursor) and of another epoch are not stored', async () => {
    const { store } = setup();
    const early = await store.append('news', null, [event('news', 'e1', 1)], 0);
    expect(early).toMatchObject({ changed: [], early: 1, cursor: null });
    await store.append('news', fresh('e1', 1), [], 0);
    const other = await store.append('news', null, [event('news', 'e2', 1)], 0);
    expect(other).toMatchObject({ changed: [], otherEpoch: 1, cursor: { epoch: 'e1', seq: 0 } });
  });

  test('an event that is not a notification leaves a marker saying so, and the cursor passes it', async () => {
    const { store } = setup();
    const result = await store.append('news', fresh('e1', 1), [event('news', 'e1', 1, { body: 'no title' }), event('news', 'e1', 2)], 0);
    expect(ids(result.changed)).toEqual(['unreadable/news/e1/1', 'news/e1/2']);
    expect(result.changed[0]).toEqual({ kind: 'gap', id: 'unreadable/news/e1/1', topic: 'news', at: 1001, reason: 'unreadable', missed: 1, read: true });
    expect(result).toMatchObject({ invalid: 1, cursor: { epoch: 'e1', seq: 2 } });
    // A replay of it stores nothing again.
    const again = await store.append('news', null, [event('news', 'e1', 1, { body: 'no title' })], 0);
    expect(again).toMatchObject({ changed: [], duplicates: 1 });
  });

  test('unreadable events in a row make one marker with their count; a readable one or a jump ends the run', async () => {
    const { store } = setup();
    const bad = (seq: number) => event('news', 'e1', seq, { title: 42 });
    const result = await store.append('news', fresh('e1', 1), [bad(1), bad(2), bad(3), event('news', 'e1', 4), bad(5), bad(7)], 0);
    expect(result.changed.map((entry) => (entry.kind === 'gap' ? `${entry.id} ${entry.reason} ${entry.missed}` : entry.id))).toEqual([
      'unreadable/news/e1/1 unreadable 3',
      'news/e1/4',
      'unreadable/news/e1/5 unreadable 1',
      'gap/news/e1/7 trimmed 1',
      'unreadable/news/e1/7 unreadable 1',
    ]);
    expect(result).toMatchObject({ invalid: 5, jumps: 1, cursor: { epoch: 'e1', seq: 7 }, unread: 1 });
  });
});

describe('one transaction for the feed and the cursor', () => {
  test('when the cursor cannot be written, no event is stored either', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 2), 0);
    const failing = failPutsOn('cursors');
    await expect(store.append('news', null, events('news', 'e1', 3, 5), 0)).rejects.toThrow('The disk is full');
    failing.mockRestore();
    expect(await store.cursor('news')).toEqual({ epoch: 'e1', seq: 2 });
    expect(ids((await store.page(50)).entries)).toEqual(['news/e1/2', 'news/e1/1']);
    // The same events, offered again, now go in: nothing was half-written.
    const retried = await store.append('news', null, events('news', 'e1', 3, 5), 0);
    expect(ids(retried.changed)).toEqual(['news/e1/3', 'news/e1/4', 'news/e1/5']);
  });

  test('when an event cannot be written, the cursor does not move', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), [event('news', 'e1', 1)], 0);
    const failing = failPutsOn('feed');
    await expect(store.append('news', null, events('news', 'e1', 2, 3), 0)).rejects.toThrow('The disk is full');
    failing.mockRestore();
    expect(await store.cursor('news')).toEqual({ epoch: 'e1', seq: 1 });
    expect((await store.page(50)).entries).toHaveLength(1);
  });
});

describe('gap markers', () => {
  test('trimmed: a marker with the count, placed before the events that follow it', async () => {
    const { store } = setup();
    await store.append('feed:ann', fresh('e1', 1), events('feed:ann', 'e1', 1, 3), 0);
    // The log kept only 11 and 12: 4 to 10 (7 events) are gone.
    const result = await store.append('feed:ann', fresh('e1', 11), events('feed:ann', 'e1', 11, 12), 0);
    expect(result.changed[0]).toEqual({
      kind: 'gap',
      id: 'gap/feed:ann/e1/11',
      topic: 'feed:ann',
      at: 1010,
      reason: 'trimmed',
      missed: 7,
      read: true,
    });
    expect(result).toMatchObject({ unread: 5, cursor: { epoch: 'e1', seq: 12 } });
    expect(ids((await store.page(50)).entries)).toEqual([
      'feed:ann/e1/12',
      'feed:ann/e1/11',
      'gap/feed:ann/e1/11',
      'feed:ann/e1/3',
      'feed:ann/e1/2',
      'feed:ann/e1/1',
    ]);
  });

  test('epoch changed: a marker with an unknown count and the cursor in the new epoch', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 5), 0);
    const result = await store.append('news', fresh('e2', 1), events('news', 'e2', 1, 2), 0);
    expect(result.changed[0]).toMatchObject({ kind: 'gap', reason: 'epoch changed', missed: null });
    expect(result.cursor).toEqual({ epoch: 'e2', seq: 2 });
    expect(await store.cursor('news')).toEqual({ epoch: 'e2', seq: 2 });
  });

  test('a start nothing follows stores its marker at once, dated now', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 2), 0);
    const result = await store.append('news', fresh('e9', 1), [], 777);
    expect(result.changed).toEqual([expect.objectContaining({ kind: 'gap', at: 777, reason: 'epoch changed' })]);
    expect(result.cursor).toEqual({ epoch: 'e9', seq: 0 });
  });

  test('a jump the server did not announce is stored, with a marker (never silent)', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), [event('news', 'e1', 1)], 0);
    const result = await store.append('news', null, [event('news', 'e1', 4)], 0);
    expect(result.jumps).toBe(1);
    expect(result.changed.map((entry) => entry.kind === 'gap' ? `gap ${entry.missed}` : entry.id)).toEqual(['gap 2', 'news/e1/4']);
  });

  test('a recovered start records nothing', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 2), 0);
    const result = await store.append('news', fresh('e1', 3), [event('news', 'e1', 3)], 0);
    expect(ids(result.changed)).toEqual(['news/e1/3']);
  });

  test('after a refused cursor the same events keep their entries and read flags', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 3), 0);
    await store.markRead(['news/e1/2']);
    const result = await store.append('news', { epoch: 'e1', next: 2, cursorRefused: true }, events('news', 'e1', 2, 4), 0);
    expect(result.changed.map((entry) => entry.kind === 'gap' ? entry.reason : entry.id)).toEqual(['epoch changed', 'news/e1/4']);
    const page = await store.page(50);
    expect(page.entries.filter((entry) => entry.kind === 'notification')).toHaveLength(4);
    expect(page.entries.find((entry) => entry.id === 'news/e1/2')).toMatchObject({ read: true });
  });
});

describe('read flags', () => {
  test('markRead changes only unread notifications; unknown ids and gaps are ignored', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 3), 0);
    await store.append('news', fresh('e2', 1), [], 5);
    const change = await store.markRead(['news/e1/1', 'news/e1/3', 'news/e1/3', 'nope', 'gap/news/e2/1']);
    expect(change.changed.map((entry) => [entry.id, entry.read])).toEqual([
      ['news/e1/1', true],
      ['news/e1/3', true],
    ]);
    expect(change.unread).toBe(1);
    expect((await store.markRead(['news/e1/1'])).changed).toEqual([]);
    expect(await store.unread()).toBe(1);
    const page = await store.page(50);
    // Newest first: 3 (read), 2 (unread), 1 (read), then the gap of e2 (dated 5, always read).
    expect(page.entries.map((entry) => [entry.kind, entry.read])).toEqual([
      ['notification', true],
      ['notification', false],
      ['notification', true],
      ['gap', true],
    ]);
  });

  test('markAllRead reads everything and the count drops to 0', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 4), 0);
    await store.markRead(['news/e1/2']);
    const change = await store.markAllRead();
    expect(ids(change.changed).sort()).toEqual(['news/e1/1', 'news/e1/3', 'news/e1/4']);
    expect(change.unread).toBe(0);
    expect(await store.unread()).toBe(0);
    expect((await store.markAllRead()).changed).toEqual([]);
  });

  test('a page holds at most `limit` entries but counts every unread one', async () => {
    const { store } = setup();
    await store.append('news', fresh('e1', 1), events('news', 'e1', 1, 10), 0);
    expect(ids((await store.page(2)).entries)).toEqual(['news/e1/10', 'news/e1/9']);
    expect(await store.page(0)).toEqual({ entries: [], unread: 10 });
  });
});
