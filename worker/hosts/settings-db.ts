/**
 * A host's small IndexedDB database of records (its settings), apart from the hub's own. IndexedDB
 * is partitioned by origin: only code running in the host's origin can open it (the dashboard's
 * pages and worker; the extension's pages and background, not its content scripts, which run with
 * the web page's origin). Each call opens the database, does one transaction, awaits its
 * `complete` and closes, so no open connection ever blocks another context's upgrade.
 */

const VERSION = 1;
const STORE = 'settings';

function requestDone<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

function open(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  const request = factory.open(name, VERSION);
  request.onupgradeneeded = () => {
    if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE);
  };
  // Another context holding an older version open would otherwise block this one forever.
  return requestDone(request).then((db) => {
    db.onversionchange = () => db.close();
    return db;
  });
}

/** Runs one transaction on the store and resolves with `work`'s result once it has committed. */
async function inTransaction<T>(factory: IDBFactory, name: string, mode: IDBTransactionMode, work: (store: IDBObjectStore) => Promise<T>): Promise<T> {
  const db = await open(factory, name);
  try {
    const tx = db.transaction(STORE, mode);
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
    // A failed request aborts the transaction: `done` rejects too, and is awaited or handled.
    done.catch(() => {});
    const result = await work(tx.objectStore(STORE));
    await done;
    return result;
  } finally {
    db.close();
  }
}

/** The records of one database (by name) in a factory: the host's `indexedDB`, or fake-indexeddb in tests. */
export interface SettingsDb {
  /** The record stored under `key`, or `undefined`. */
  read(key: string): Promise<unknown>;
  /** Stores every record of `records` in one transaction; resolves once it has committed. */
  write(records: Readonly<Record<string, unknown>>): Promise<void>;
}

export function settingsDb(factory: IDBFactory, name: string): SettingsDb {
  return {
    read: (key) => inTransaction(factory, name, 'readonly', (store) => requestDone(store.get(key))),
    write: (records) =>
      inTransaction(factory, name, 'readwrite', async (store) => {
        await Promise.all(Object.entries(records).map(([key, value]) => requestDone(store.put(value, key))));
      }),
  };
}
