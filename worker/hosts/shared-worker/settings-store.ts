/**
 * The dashboard's settings, kept in IndexedDB of the dashboard's own origin (its own small database,
 * apart from the hub's). IndexedDB is partitioned by origin, so scripts of any other origin cannot
 * open it; the dashboard's responses carry a strict CSP, so no foreign script runs in its own.
 *
 * The server URL is never stored: the dashboard talks to the server that served it, so it is the
 * worker's own origin, given at creation. Each call opens the database, does one transaction,
 * awaits its `complete` and closes, so no open connection ever blocks another tab's upgrade.
 */
import { DEFAULT_SETTINGS, parseSettings, type Settings } from '../../../lib/rpc/settings';
import type { SettingsStore } from '../../core/platform';

export const SETTINGS_DB_NAME = 'switchboard-dashboard';
const SETTINGS_DB_VERSION = 1;
const STORE = 'settings';
const KEY = 'settings';

export interface IdbSettingsStoreOptions {
  /** Where the database lives: the worker's `indexedDB`, or fake-indexeddb in tests. */
  readonly factory: IDBFactory;
  /** The dashboard's own origin, e.g. `http://127.0.0.1:8787`, which serves `/ws` too. */
  readonly serverUrl: string;
}

function requestDone<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

function open(factory: IDBFactory): Promise<IDBDatabase> {
  const request = factory.open(SETTINGS_DB_NAME, SETTINGS_DB_VERSION);
  request.onupgradeneeded = () => {
    if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE);
  };
  // Another tab holding an older version open would otherwise block this one forever.
  return requestDone(request).then((db) => {
    db.onversionchange = () => db.close();
    return db;
  });
}

/** Runs one transaction on the store and resolves with `work`'s result once it has committed. */
async function inTransaction<T>(factory: IDBFactory, mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open(factory);
  try {
    const tx = db.transaction(STORE, mode);
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
    const result = await requestDone(work(tx.objectStore(STORE)));
    await done;
    return result;
  } finally {
    db.close();
  }
}

export function createIdbSettingsStore(options: IdbSettingsStoreOptions): SettingsStore {
  const { factory, serverUrl } = options;
  const defaults: Settings = { ...DEFAULT_SETTINGS, serverUrl };
  return {
    async load() {
      const stored: unknown = await inTransaction(factory, 'readonly', (store) => store.get(KEY));
      if (stored === undefined) return defaults;
      const parsed = parseSettings({ ...(typeof stored === 'object' ? stored : {}), serverUrl });
      return parsed.ok ? parsed.value : defaults;
    },
    async save(settings) {
      const { token, systemNotifications, quietHours } = settings;
      await inTransaction(factory, 'readwrite', (store) => store.put({ token, systemNotifications, quietHours }, KEY));
    },
  };
}
