/**
 * The dashboard's settings, kept in IndexedDB of the dashboard's own origin (its own small database,
 * `../settings-db`, apart from the hub's). Scripts of any other origin cannot open it; the
 * dashboard's responses carry a strict CSP, so no foreign script runs in its own.
 *
 * The server URL is never stored: the dashboard talks to the server that served it, so it is the
 * worker's own origin, given at creation.
 */
import { DEFAULT_SETTINGS, parseSettings, type Settings } from '../../../lib/rpc/settings';
import type { SettingsStore } from '../../core/platform';
import { settingsDb } from '../settings-db';

export const SETTINGS_DB_NAME = 'switchboard-dashboard';
const KEY = 'settings';

export interface IdbSettingsStoreOptions {
  /** Where the database lives: the worker's `indexedDB`, or fake-indexeddb in tests. */
  readonly factory: IDBFactory;
  /** The dashboard's own origin, e.g. `http://127.0.0.1:8787`, which serves `/ws` too. */
  readonly serverUrl: string;
}

export function createIdbSettingsStore(options: IdbSettingsStoreOptions): SettingsStore {
  const { serverUrl } = options;
  const db = settingsDb(options.factory, SETTINGS_DB_NAME);
  const defaults: Settings = { ...DEFAULT_SETTINGS, serverUrl };
  return {
    async load() {
      const stored = await db.read(KEY);
      if (stored === undefined) return defaults;
      const parsed = parseSettings({ ...(typeof stored === 'object' ? stored : {}), serverUrl });
      return parsed.ok ? parsed.value : defaults;
    },
    async save(settings) {
      const { token, systemNotifications, quietHours } = settings;
      await db.write({ [KEY]: { token, systemNotifications, quietHours } });
    },
  };
}
