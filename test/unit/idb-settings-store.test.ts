/** The dashboard's settings in IndexedDB (fake-indexeddb, a fresh factory per test). */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, test } from 'vitest';
import { DEFAULT_SETTINGS } from '../../lib/rpc/settings';
import { createIdbSettingsStore, SETTINGS_DB_NAME } from '../../worker/hosts/shared-worker/settings-store';

const ORIGIN = 'http://127.0.0.1:8787';

function rawPut(factory: IDBFactory, value: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = factory.open(SETTINGS_DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('settings');
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const tx = request.result.transaction('settings', 'readwrite');
      tx.objectStore('settings').put(value, 'settings');
      tx.oncomplete = () => {
        request.result.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

describe('IndexedDB settings store', () => {
  test('with nothing stored: no token, and the server is the dashboard origin', async () => {
    const store = createIdbSettingsStore({ factory: new IDBFactory(), serverUrl: ORIGIN });
    expect(await store.load()).toEqual({ ...DEFAULT_SETTINGS, serverUrl: ORIGIN });
  });

  test('a saved token is there for the next worker, with the server URL still the origin', async () => {
    const factory = new IDBFactory();
    await createIdbSettingsStore({ factory, serverUrl: ORIGIN }).save({ serverUrl: 'http://elsewhere:1', token: 'tok', systemNotifications: false, quietHours: null });
    const next = createIdbSettingsStore({ factory, serverUrl: ORIGIN });
    expect(await next.load()).toEqual({ serverUrl: ORIGIN, token: 'tok', systemNotifications: false, quietHours: null });
  });

  test('signing out (an empty token) replaces the stored one', async () => {
    const factory = new IDBFactory();
    const store = createIdbSettingsStore({ factory, serverUrl: ORIGIN });
    await store.save({ serverUrl: ORIGIN, token: 'tok' });
    await store.save({ serverUrl: ORIGIN, token: '' });
    expect((await store.load()).token).toBe('');
  });

  test('another origin (another factory) sees nothing of it', async () => {
    await createIdbSettingsStore({ factory: new IDBFactory(), serverUrl: ORIGIN }).save({ serverUrl: ORIGIN, token: 'tok' });
    expect((await createIdbSettingsStore({ factory: new IDBFactory(), serverUrl: ORIGIN }).load()).token).toBe('');
  });

  test.each([['a string'], [{ token: 42 }], [null]])('unreadable stored value %j falls back to the defaults', async (value) => {
    const factory = new IDBFactory();
    await rawPut(factory, value);
    expect(await createIdbSettingsStore({ factory, serverUrl: ORIGIN }).load()).toEqual({ ...DEFAULT_SETTINGS, serverUrl: ORIGIN });
  });
});
