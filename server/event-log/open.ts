/**
 * Opens the event log a server is configured for. The one place that maps a store name to an
 * implementation: a Redis Streams log plugs in here, behind the same `EventLog` interface.
 */
import { join } from 'node:path';
import { createMemoryEventLog } from './memory';
import { openSqliteEventLog } from './sqlite';
import type { EventLog, EventLogOptions } from './types';

/** Where the log lives: `sqlite` (a file in the data directory, the default), `memory` (tests) or `redis` (several nodes). */
export type StoreKind = 'sqlite' | 'memory' | 'redis';

/** The SQLite file's name inside the data directory. */
export const SQLITE_FILE = 'switchboard.sqlite';

export interface OpenEventLogOptions extends EventLogOptions {
  readonly store: StoreKind;
  /** Directory of the SQLite file. */
  readonly dataDir: string;
}

export async function openEventLog(options: OpenEventLogOptions): Promise<EventLog> {
  switch (options.store) {
    case 'memory':
      return createMemoryEventLog(options);
    case 'sqlite':
      return openSqliteEventLog({ ...options, path: join(options.dataDir, SQLITE_FILE) });
    case 'redis':
      throw new Error('The event log has no Redis implementation yet');
  }
}

export type { Appended, EventLog, LogChange, Retention, StoredEvent, TopicHead } from './types';
export { DEFAULT_RETENTION } from './types';
