/**
 * Opens the event log a server is configured for. The one place that maps a store name to an
 * implementation, all behind the same `EventLog` interface.
 */
import { join } from 'node:path';
import { createMemoryEventLog } from './memory';
import { openRedisEventLog } from './redis';
import type { RedisLogger } from '../redis/client';
import { openSqliteEventLog } from './sqlite';
import type { EventLog, EventLogOptions } from './types';

/**
 * Where the log lives: `sqlite` (a file in the data directory, the default), `memory` (tests), or
 * `redis` (Redis Streams at `redisUrl`, shared by several server nodes).
 */
export type StoreKind = 'sqlite' | 'memory' | 'redis';

/** The SQLite file's name inside the data directory. */
export const SQLITE_FILE = 'switchboard.sqlite';

export interface OpenEventLogOptions extends EventLogOptions {
  readonly store: StoreKind;
  /** Directory of the SQLite file. */
  readonly dataDir: string;
  /** `redis://host:port` of the Redis a `redis` store lives in; required for it. */
  readonly redisUrl?: string;
  /** Hears the Redis connections' outages (a `redis` store). */
  readonly logger?: RedisLogger;
}

export async function openEventLog(options: OpenEventLogOptions): Promise<EventLog> {
  switch (options.store) {
    case 'memory':
      return createMemoryEventLog(options);
    case 'sqlite':
      return openSqliteEventLog({ ...options, path: join(options.dataDir, SQLITE_FILE) });
    case 'redis':
      if (!options.redisUrl) throw new Error('The redis store needs a Redis URL (redisUrl)');
      return openRedisEventLog({ ...options, url: options.redisUrl });
  }
}

export type { Appended, EventLog, LogChange, Retention, StoredEvent, TopicHead } from './types';
export { DEFAULT_RETENTION } from './types';
export { StoreUnavailableError } from '../common/unavailable';
