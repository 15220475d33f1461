/**
 * The user's settings in the extension (the hub's `SettingsStore`): one record in the extension
 * origin's IndexedDB, database `switchboard-settings` (`../settings-db`). Content scripts cannot
 * open it: they run with the web page's origin and see the page's IndexedDB. The options page
 * reads and saves them through the hub (`getSettings` / `saveSettings`), which applies a save at
 * once, so nothing else needs to watch them.
 *
 * Earlier versions kept them, access token included, in `storage.local`, which every content script
 * can read and write (Chrome's `setAccessLevel('TRUSTED_CONTEXTS')` exists for `storage.local` in
 * Chrome 156, but Firefox ESR 153 has no `setAccessLevel` at all). The first load after an update
 * moves them, once: the settings and a "moved" mark are written in one IndexedDB transaction, and
 * only after it committed is the old copy removed from `storage.local`. From then on
 * `storage.local` is never read again, only cleared of that key, so a value a content script writes
 * there is dropped, never applied.
 */
import { DEFAULT_SETTINGS, parseSettings } from '../../../lib/rpc/settings';
import { toErrorData } from '../../../lib/errors';
import type { Logger, SettingsStore } from '../../core/platform';
import { settingsDb, type SettingsDb } from '../settings-db';

export const SETTINGS_DB_NAME = 'switchboard-settings';
/** The settings record, in IndexedDB now as in `storage.local` before. */
export const SETTINGS_KEY = 'settings';
/** Set once the settings of `storage.local` (if any) have been moved. */
export const MOVED_KEY = 'moved-from-storage-local';

/** The part of `storage.local` the move uses; `browser.storage.local` fits. */
export interface LegacyStorage {
  get(key: string): Promise<Record<string, unknown>>;
  remove(key: string): Promise<void>;
}

export interface ExtensionSettingsOptions {
  /** The background's `indexedDB` (fake-indexeddb in tests). */
  readonly factory: IDBFactory;
  /** `browser.storage.local`, where earlier versions kept the settings. */
  readonly legacy: LegacyStorage;
  readonly log: Logger;
}

/**
 * Moves settings from `storage.local` into `db`, once (unreadable ones are dropped, as earlier
 * versions ignored them too). If the write fails, `storage.local` keeps them and the next load
 * tries again. If the removal fails (or the background stops between the two), both copies stay
 * with the mark: every later start removes the old one without reading it.
 */
async function moveLegacySettings(db: SettingsDb, legacy: LegacyStorage, log: Logger): Promise<void> {
  const [moved, stored] = await Promise.all([db.read(MOVED_KEY), legacy.get(SETTINGS_KEY)]);
  const old = stored[SETTINGS_KEY];
  if (moved === undefined) {
    const parsed = old === undefined ? null : parseSettings(old);
    await db.write({ [MOVED_KEY]: true, ...(parsed?.ok ? { [SETTINGS_KEY]: parsed.value } : {}) });
    if (parsed) log.info('moved the settings from storage.local to IndexedDB', { valid: parsed.ok });
  }
  if (old === undefined) return;
  await legacy.remove(SETTINGS_KEY).catch((error: unknown) => {
    log.warn('could not remove the old settings from storage.local; trying again at the next start', { error: toErrorData(error) });
  });
}

/** The settings store of the extension's background. */
export function createExtensionSettings(options: ExtensionSettingsOptions): SettingsStore {
  const db = settingsDb(options.factory, SETTINGS_DB_NAME);
  let moving: Promise<void> | null = null;
  /** The move, done before the first load or save; a failed one is tried again on the next. */
  const moved = (): Promise<void> =>
    (moving ??= moveLegacySettings(db, options.legacy, options.log).catch((error: unknown) => {
      moving = null;
      throw error;
    }));
  return {
    async load() {
      await moved();
      const parsed = parseSettings(await db.read(SETTINGS_KEY));
      return parsed.ok ? parsed.value : DEFAULT_SETTINGS;
    },
    async save(settings) {
      await moved();
      await db.write({ [SETTINGS_KEY]: settings });
    },
  };
}
