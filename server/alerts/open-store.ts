/**
 * Opens the alert store a server is configured for, the same choice as its event log: `sqlite`
 * (a file in the data directory), `memory` (tests) or `redis` (shared by several nodes).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
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
  /** Hears the Redis connection's outages; required for `redis`. */
  readonly logger?: Pick<Logger, 'warn' | 'info'>;
}

export async function openAlertStore(options: OpenAlertStoreOptions): Promise<AlertStore> {
  switch (options.store) {
    case 'memory':
      return createMemoryAlertStore();
    case 'sqlite':
      return openSqliteAlertStore({ path: join(options.dataDir, ALERTS_SQLITE_FILE) });
    case 'redis':
      if (!options.redisUrl || !options.logger) throw new Error('The redis alert store needs a Redis URL and a logger');
      return openRedisAlertStore({
        url: options.redisUrl,
        logger: options.logger,
        ...(options.redisKeyPrefix === undefined ? {} : { keyPrefix: options.redisKeyPrefix }),
      });
  }
}
