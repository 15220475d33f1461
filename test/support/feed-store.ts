/**
 * The feed store on fake-indexeddb, a fresh database per test. Call `useFeedStoreHarness()` once
 * in the file: the hub's fake timers (which leave `setImmediate`, and so fake-indexeddb, real)
 * before each test, and after it real timers, restored mocks and every database closed.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, vi } from 'vitest';
import { openHubDb, type HubDb } from '../../worker/store/db';
import { createFeedStore } from '../../worker/store/feed-store';
import { createRecordingLogger, useHubFakeTimers } from './fake-socket';

const dbs: HubDb[] = [];

export function useFeedStoreHarness(): void {
  beforeEach(() => {
    useHubFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    for (const db of dbs.splice(0)) db.close();
  });
}

/** A fresh database and ann's feed store on it, closed after the test. */
export function setup() {
  const db = openHubDb({ factory: new IDBFactory(), log: createRecordingLogger() });
  dbs.push(db);
  return { db, store: createFeedStore(db, () => 'ann') };
}
