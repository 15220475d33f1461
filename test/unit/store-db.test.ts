/**
 * The hub database's schema and connection lifecycle on fake-indexeddb: upgrades, `blocking`
 * (another context upgrades), `terminated` (the browser drops the connection) and close.
 */
import 'fake-indexeddb/auto';
import { forceCloseDatabase, IDBFactory } from 'fake-indexeddb';
import { unwrap } from 'idb';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { DB_NAME, DB_VERSION, openHubDb, writeTransaction, type HubDb } from '../../worker/store/db';
import { createRecordingLogger, useHubFakeTimers } from '../support/fake-socket';

const handles: HubDb[] = [];
// The hub's fake timers leave setImmediate real, which fake-indexeddb runs on.
beforeEach(() => {
  useHubFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  for (const handle of handles.splice(0)) handle.close();
});

function setup(factory = new IDBFactory()) {
  const log = createRecordingLogger();
  const db = openHubDb({ factory, log });
  handles.push(db);
  return { factory, log, db };
}

/** Opens the database raw from "another context" at `version`. */
function openRaw(factory: IDBFactory, version: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(DB_NAME, version);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Migration 1 as it shipped: the cursor and feed stores. */
function migration1(raw: IDBDatabase): void {
  raw.createObjectStore('cursors', { keyPath: 'topic' });
  const feed = raw.createObjectStore('feed', { keyPath: 'id' });
  feed.createIndex('by-time', ['at', 'order']);
  feed.createIndex('unread', 'unread');
}

/**
 * Creates the database at an old `version` with `upgrade` (that release's migrations, by hand),
 * writes to `store` with `fill` in one transaction, and closes it.
 */
function createOldDb(factory: IDBFactory, version: number, upgrade: (raw: IDBDatabase) => void, store: string, fill: (store: IDBObjectStore) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const request = factory.open(DB_NAME, version);
    request.onupgradeneeded = () => upgrade(request.result);
    request.onsuccess = () => {
      const tx = request.result.transaction(store, 'readwrite');
      fill(tx.objectStore(store));
      tx.oncomplete = () => {
        request.result.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
    request.onerror = () => reject(request.error);
  });
}

describe('schema', () => {
  test('the first open creates the cursor and feed stores with their indexes', async () => {
    const { db } = setup();
    const conn = await db.get();
    expect(conn.version).toBe(DB_VERSION);
    expect([...conn.objectStoreNames]).toEqual(['cursors', 'feed', 'journal', 'outbox', 'overlays', 'refusal', 'snapshots', 'transports']);
    const tx = conn.transaction(['feed', 'outbox']);
    expect([...tx.objectStore('feed').indexNames]).toEqual(['by-owner-time', 'owner-unread']);
    expect([...tx.objectStore('outbox').indexNames]).toEqual(['by-seq']);
    await tx.done;
  });

  test('a version 1 database (cursors and feed only) upgrades to the outbox stores and keeps its data', async () => {
    const factory = new IDBFactory();
    // Migration 1 as it shipped, done by hand: this is what browsers of the last release hold.
    await createOldDb(factory, 1, migration1, 'cursors', (cursors) => cursors.put({ topic: 'news', epoch: 'e1', seq: 7 }));
    const { db } = setup(factory);
    const conn = await db.get();
    expect(conn.version).toBe(DB_VERSION);
    expect([...conn.objectStoreNames]).toEqual(['cursors', 'feed', 'journal', 'outbox', 'overlays', 'refusal', 'snapshots', 'transports']);
    expect(await conn.get('cursors', 'news')).toEqual({ topic: 'news', epoch: 'e1', seq: 7 });
  });

  test("a version 2 database upgrades: each stored feed entry learns its owner, read flags and all", async () => {
    const factory = new IDBFactory();
    const entry = (topic: string, seq: number, unread: boolean) => ({
      id: `${topic}/e1/${seq}`,
      at: seq,
      order: seq,
      ...(unread ? { unread: 1 } : {}),
      entry: { kind: 'notification', id: `${topic}/e1/${seq}`, topic, epoch: 'e1', seq, at: seq, title: `#${seq}`, body: '', level: 'info', read: !unread },
    });
    // Migrations 1 and 2 as they shipped, done by hand.
    const migrations1And2 = (raw: IDBDatabase) => {
      migration1(raw);
      raw.createObjectStore('outbox', { keyPath: 'id' }).createIndex('by-seq', 'seq', { unique: true });
      raw.createObjectStore('overlays', { keyPath: 'id' });
      raw.createObjectStore('snapshots', { keyPath: 'topic' });
    };
    await createOldDb(factory, 2, migrations1And2, 'feed', (feed) => {
      for (const stored of [entry('feed:ann', 1, true), entry('feed:bob', 2, true), entry('news', 3, false)]) feed.put(stored);
    });
    const { db } = setup(factory);
    const conn = await db.get();
    expect((await conn.getAll('feed')).map((stored) => [stored.id, stored.owner, stored.unread ?? 0])).toEqual([
      ['feed:ann/e1/1', 'ann', 1],
      ['feed:bob/e1/2', 'bob', 1],
      ['news/e1/3', '', 0],
    ]);
    expect(await conn.countFromIndex('feed', 'owner-unread', IDBKeyRange.only(['ann', 1]))).toBe(1);
  });

  test('a version 4 database upgrades to the journal store, every stored feed entry, cursor and outbox message kept', async () => {
    const factory = new IDBFactory();
    const stored = (topic: string, owner: string, seq: number) => ({
      id: `${topic}/e1/${seq}`,
      owner,
      at: seq,
      order: seq,
      unread: 1,
      entry: { kind: 'notification', id: `${topic}/e1/${seq}`, topic, epoch: 'e1', seq, at: seq, title: `#${seq}`, body: '', level: 'info', read: false },
    });
    // Migrations 1 to 4 as they shipped, done by hand: what browsers of the last release hold.
    const migrations1To4 = (raw: IDBDatabase) => {
      raw.createObjectStore('cursors', { keyPath: 'topic' });
      const feed = raw.createObjectStore('feed', { keyPath: 'id' });
      feed.createIndex('by-owner-time', ['owner', 'at', 'order']);
      feed.createIndex('owner-unread', ['owner', 'unread']);
      raw.createObjectStore('outbox', { keyPath: 'id' }).createIndex('by-seq', 'seq', { unique: true });
      raw.createObjectStore('overlays', { keyPath: 'id' });
      raw.createObjectStore('snapshots', { keyPath: 'topic' });
      raw.createObjectStore('refusal', { keyPath: 'key' });
    };
    await createOldDb(factory, 4, migrations1To4, 'feed', (feed) => {
      for (let seq = 1; seq <= 3; seq++) feed.put(stored('feed:ann', 'ann', seq));
    });
    const raw = await openRaw(factory, 4);
    await new Promise<void>((resolve, reject) => {
      const tx = raw.transaction(['cursors', 'outbox'], 'readwrite');
      tx.objectStore('cursors').put({ topic: 'feed:ann', epoch: 'e1', seq: 3 });
      tx.objectStore('outbox').put({ id: 'm1', seq: 1 });
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    raw.close();
    const { db } = setup(factory);
    const conn = await db.get();
    expect(conn.version).toBe(DB_VERSION);
    expect(await conn.count('journal')).toBe(0);
    expect((await conn.getAll('feed')).map((entry) => entry.id)).toEqual(['feed:ann/e1/1', 'feed:ann/e1/2', 'feed:ann/e1/3']);
    expect(await conn.countFromIndex('feed', 'owner-unread', IDBKeyRange.only(['ann', 1]))).toBe(3);
    expect(await conn.get('cursors', 'feed:ann')).toEqual({ topic: 'feed:ann', epoch: 'e1', seq: 3 });
    expect(await conn.getAllKeys('outbox')).toEqual(['m1']);
  });

  test('the same connection is reused', async () => {
    const { db } = setup();
    expect(await db.get()).toBe(await db.get());
  });
});

describe('lifecycle', () => {
  test('terminated: after the browser drops the connection the next use reopens, data intact', async () => {
    const { db, log } = setup();
    const first = await db.get();
    await writeTransaction(first, ['cursors'], async (tx) => {
      await tx.objectStore('cursors').put({ topic: 'news', epoch: 'e1', seq: 4 });
    });
    // fake-indexeddb's typings ask for the class where the function takes the connection.
    forceCloseDatabase(unwrap(first) as unknown as typeof IDBDatabase);
    expect(log.warnings().map((entry) => entry.data?.why)).toEqual(['the browser closed the database']);
    const second = await db.get();
    expect(second).not.toBe(first);
    expect(await second.get('cursors', 'news')).toEqual({ topic: 'news', epoch: 'e1', seq: 4 });
  });

  test('blocking: another context upgrading makes the hub close its connection, so the upgrade is not stuck', async () => {
    const { db, factory, log } = setup();
    await db.get();
    const newer = await openRaw(factory, DB_VERSION + 1);
    expect(newer.version).toBe(DB_VERSION + 1);
    expect(log.warnings().map((entry) => entry.data?.why)).toEqual(['another context is upgrading the database']);
    newer.close();
    // This code does not know the newer version: reopening fails instead of corrupting it.
    await expect(db.get()).rejects.toMatchObject({ name: 'VersionError' });
  });

  test('a failed open is retried by the next use', async () => {
    const factory = new IDBFactory();
    const newer = await openRaw(factory, DB_VERSION + 5);
    const { db } = setup(factory);
    await expect(db.get()).rejects.toMatchObject({ name: 'VersionError' });
    newer.close();
    await new Promise<void>((resolve, reject) => {
      const request = factory.deleteDatabase(DB_NAME);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    });
    expect((await db.get()).version).toBe(DB_VERSION);
  });

  test('close: later uses reject; a new handle on the same factory sees the data', async () => {
    const { db, factory } = setup();
    await writeTransaction(await db.get(), ['cursors'], async (tx) => {
      await tx.objectStore('cursors').put({ topic: 'news', epoch: 'e1', seq: 1 });
    });
    db.close();
    await expect(db.get()).rejects.toThrow('The hub database is closed');
    const again = setup(factory).db;
    expect(await (await again.get()).get('cursors', 'news')).toMatchObject({ seq: 1 });
  });

  test('writeTransaction aborts on a throw in its own code: nothing requested before it is kept', async () => {
    const { db } = setup();
    const conn = await db.get();
    await expect(
      writeTransaction(conn, ['cursors'], async (tx) => {
        await tx.objectStore('cursors').put({ topic: 'news', epoch: 'e1', seq: 1 });
        throw new Error('bug');
      }),
    ).rejects.toThrow('bug');
    expect(await conn.get('cursors', 'news')).toBeUndefined();
  });
});
