/**
 * Opens the alert store a server is configured for, the same choice as its event log: `sqlite`
 * (a file in the data directory) or `memory` (tests).
 */
import { join } from 'node:path';
import type { StoreKind } from '../event-log/open';
import { createMemoryAlertStore } from './store-memory';
import { openSqliteAlertStore } from './store-sqlite';
import type { AlertStore } from './store-types';

/** The alert store's file inside the data directory. */
export const ALERTS_SQLITE_FILE = 'alerts.sqlite';

export async function openAlertStore(options: { readonly store: StoreKind; readonly dataDir: string }): Promise<AlertStore> {
  switch (options.store) {
    case 'memory':
      return createMemoryAlertStore();
    case 'sqlite':
      return openSqliteAlertStore({ path: join(options.dataDir, ALERTS_SQLITE_FILE) });
    case 'redis':
      throw new Error('The alert store on Redis is not built yet');
  }
}
