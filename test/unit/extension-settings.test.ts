/**
 * The extension's settings in its IndexedDB (fake-indexeddb, a fresh factory per test) and the
 * one-time move of settings that earlier versions kept in `storage.local` (an in-memory stand-in):
 * nothing is lost, the old copy goes, and `storage.local` is never read again.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, test } from 'vitest';
import { DEFAULT_SETTINGS, type Settings } from '../../lib/rpc/settings';
import { createExtensionSettings, MOVED_KEY, SETTINGS_DB_NAME, SETTINGS_KEY, type LegacyStorage } from '../../worker/hosts/extension/settings';
import { settingsDb } from '../../worker/hosts/settings-db';
import { createRecordingLogger } from '../support/fake-socket';

const OLD: Settings = { serverUrl: 'http://old.example:8787', token: 'old-token', systemNotifications: false, quietHours: { start: '22:00', end: '07:00' } };
const NEW: Settings = { serverUrl: 'http://127.0.0.1:8787', token: 'new-token', systemNotifications: true, quietHours: null };

/** `storage.local` as the background sees it, with a switch to make `remove` fail. */
function fakeStorage(initial: Record<string, unknown> = {}): LegacyStorage & { items: Record<string, unknown>; failRemove: boolean; reads: number } {
  const storage = {
    items: { ...initial },
    failRemove: false,
    reads: 0,
    async get(key: string) {
      storage.reads += 1;
      return key in storage.items ? { [key]: structuredClone(storage.items[key]) } : {};
    },
    async remove(key: string) {
      if (storage.failRemove) throw new Error('storage is busy');
      delete storage.items[key];
    },
  };
  return storage;
}

/** An `IDBFactory` whose `open` fails, as a browser refusing IndexedDB would. */
function brokenFactory(): IDBFactory {
  const factory = new IDBFactory();
  factory.open = () => {
    throw new DOMException('IndexedDB is off', 'InvalidStateError');
  };
  return factory;
}

const store = (factory: IDBFactory, legacy: LegacyStorage) => createExtensionSettings({ factory, legacy, log: createRecordingLogger() });

describe('extension settings in IndexedDB', () => {
  test('a new install has the defaults, and storage.local stays empty', async () => {
    const legacy = fakeStorage();
    expect(await store(new IDBFactory(), legacy).load()).toEqual(DEFAULT_SETTINGS);
    expect(legacy.items).toEqual({});
  });

  test('saved settings are there for the next background, and never written to storage.local', async () => {
    const factory = new IDBFactory();
    const legacy = fakeStorage();
    await store(factory, legacy).save(NEW);
    expect(await store(factory, fakeStorage()).load()).toEqual(NEW);
    expect(legacy.items).toEqual({});
  });

  test('another origin (another factory) sees nothing of them', async () => {
    await store(new IDBFactory(), fakeStorage()).save(NEW);
    expect(await store(new IDBFactory(), fakeStorage()).load()).toEqual(DEFAULT_SETTINGS);
  });
});

describe('moving the settings out of storage.local', () => {
  test('the old settings, token included, move to IndexedDB and leave storage.local', async () => {
    const factory = new IDBFactory();
    const legacy = fakeStorage({ [SETTINGS_KEY]: OLD, other: 1 });
    expect(await store(factory, legacy).load()).toEqual(OLD);
    expect(legacy.items).toEqual({ other: 1 });
    // The next background finds them in IndexedDB alone.
    expect(await store(factory, fakeStorage()).load()).toEqual(OLD);
  });

  test('once: a value written to storage.local later is removed, never applied', async () => {
    const factory = new IDBFactory();
    await store(factory, fakeStorage({ [SETTINGS_KEY]: OLD })).load();
    const planted = fakeStorage({ [SETTINGS_KEY]: { serverUrl: 'http://evil.example', token: 'evil' } });
    expect(await store(factory, planted).load()).toEqual(OLD);
    expect(planted.items).toEqual({});
  });

  test('a save before any load moves first, so the new settings win', async () => {
    const factory = new IDBFactory();
    const legacy = fakeStorage({ [SETTINGS_KEY]: OLD });
    await store(factory, legacy).save(NEW);
    expect(legacy.items).toEqual({});
    expect(await store(factory, fakeStorage()).load()).toEqual(NEW);
  });

  test('a failed removal keeps the moved settings; the next start removes the old copy without reading it', async () => {
    const factory = new IDBFactory();
    const legacy = fakeStorage({ [SETTINGS_KEY]: OLD });
    legacy.failRemove = true;
    expect(await store(factory, legacy).load()).toEqual(OLD);
    expect(legacy.items).toEqual({ [SETTINGS_KEY]: OLD });

    legacy.failRemove = false;
    legacy.items[SETTINGS_KEY] = { serverUrl: 'http://evil.example', token: 'evil' };
    expect(await store(factory, legacy).load()).toEqual(OLD);
    expect(legacy.items).toEqual({});
  });

  test('a failed write leaves the token in storage.local; a later load moves it', async () => {
    const legacy = fakeStorage({ [SETTINGS_KEY]: OLD });
    await expect(store(brokenFactory(), legacy).load()).rejects.toThrow('IndexedDB is off');
    expect(legacy.items).toEqual({ [SETTINGS_KEY]: OLD });
    expect(await store(new IDBFactory(), legacy).load()).toEqual(OLD);
    expect(legacy.items).toEqual({});
  });

  test('the same store tries a failed move again on its next call', async () => {
    const legacy = fakeStorage({ [SETTINGS_KEY]: OLD });
    let failing = true;
    const factory = new IDBFactory();
    const open = factory.open.bind(factory);
    factory.open = (...args) => {
      if (failing) throw new DOMException('IndexedDB is off', 'InvalidStateError');
      return open(...args);
    };
    const settings = store(factory, legacy);
    await expect(settings.load()).rejects.toThrow('IndexedDB is off');
    failing = false;
    expect(await settings.load()).toEqual(OLD);
    expect(legacy.items).toEqual({});
  });

  test('unreadable old settings are dropped (earlier versions ignored them too) and removed', async () => {
    const factory = new IDBFactory();
    const legacy = fakeStorage({ [SETTINGS_KEY]: { serverUrl: 'ftp://nope', token: 'x' } });
    expect(await store(factory, legacy).load()).toEqual(DEFAULT_SETTINGS);
    expect(legacy.items).toEqual({});
    expect(await settingsDb(factory, SETTINGS_DB_NAME).read(MOVED_KEY)).toBe(true);
  });

  test('the move is done once per background: later loads do not read storage.local', async () => {
    const legacy = fakeStorage({ [SETTINGS_KEY]: OLD });
    const settings = store(new IDBFactory(), legacy);
    await settings.load();
    await settings.load();
    await settings.save(NEW);
    expect(legacy.reads).toBe(1);
  });
});
