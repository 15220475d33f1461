/**
 * Opens the alert store a server is configured for, the same choice as its event log: `sqlite`
 * (a file in the data directory), `memory` (tests) or `redis` (shared by several nodes).
 */
import { join } from 'node:path';
import type { StoreKind } from '../event-log/open';
import { createMemoryAlertStore } from './store-memory';
import { openRedisAlertStore } from './store-redis';
import { openSqliteAlertStore } from './store-sqlite';
import type { AlertStore } from './store-types';

/** The alert store's file inside the data directory. */
export const ALERTS_SQLITE_FILE = 'alerts.sqlite';

export interface OpenAlertStoreOptions {
  readonly store: StoreKind;
  readonly dataDir: string;
  /** Required for `redis`: `redis://host:port`. */
  readonly redisUrl?: string;
  /** Prefix of every Redis key. Default `switchboard:`. */
  readonly redisKeyPrefix?: string;
  /** Redis socket errors and failed reconnects, for the log. */
  readonly onRedisError?: (error: Error) => void;
}

export async function openAlertStore(options: OpenAlertStoreOptions): Promise<AlertStore> {
  switch (options.store) {
    case 'memory':
      return createMemoryAlertStore();
    case 'sqlite':
      return openSqliteAlertStore({ path: join(options.dataDir, ALERTS_SQLITE_FILE) });
    case 'redis':
      if (!options.redisUrl) throw new Error('The redis alert store needs a Redis URL');
      return openRedisAlertStore({
        url: options.redisUrl,
        ...(options.redisKeyPrefix === undefined ? {} : { keyPrefix: options.redisKeyPrefix }),
        ...(options.onRedisError ? { onError: options.onRedisError } : {}),
      });
  }
}
