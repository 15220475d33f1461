/**
 * What worked per server, kept across restarts. A Chrome MV3 service worker is stopped after 30 s
 * of idleness and woken by the 30 s alarm: a hub that forgot on each start would spend its short
 * life failing WebSocket upgrades again before stepping down. So the record of each server URL is
 * read once when the hub opens and written whenever its transport (or its last probe) changes. The
 * store is declared here and implemented on IndexedDB by `worker/store/transport-store.ts`.
 */
import type { Clock, Logger } from '../platform';
import type { ServerRecord } from './transport-plan';

/** What is kept of a server's record: its transport and last probe. Failure counts are not kept (a restart may well find the upgrade working again). */
export interface StoredTransport extends Pick<ServerRecord, 'mode' | 'probedAt'> {
  /** The WebSocket URL the settings make (`ws(s)://host/…/ws`): the server. */
  readonly url: string;
}

export interface TransportStore {
  getAll(): Promise<readonly StoredTransport[]>;
  /** Replaces the record of `record.url`; resolves once committed. */
  put(record: StoredTransport): Promise<void>;
}

/** How long opening the hub waits to read the records before it starts from WebSocket anyway. */
export const TRANSPORT_RECALL_TIMEOUT_MS = 1000;

/** The stored records by URL; empty when they cannot be read in time (a blocked database). */
export async function recallTransports(store: TransportStore, clock: Clock, log: Logger): Promise<Map<string, ServerRecord>> {
  let timer: unknown;
  const late = new Promise<readonly StoredTransport[]>((resolve) => (timer = clock.setTimeout(() => resolve([]), TRANSPORT_RECALL_TIMEOUT_MS)));
  const read = store.getAll().catch((error: unknown) => {
    log.warn('could not read which transports worked; starting from WebSocket', { error: String(error) });
    return [];
  });
  try {
    const records = await Promise.race([read, late]);
    return new Map(records.map(({ url, mode, probedAt }) => [url, { mode, wsFailures: 0, probedAt }]));
  } finally {
    clock.clearTimeout(timer);
  }
}

/** Writes records in the order they changed; a failed write is only logged (memory still holds it). */
export function createTransportWriter(store: TransportStore, log: Logger): (url: string, record: ServerRecord) => void {
  let writes: Promise<void> = Promise.resolve();
  return (url, record) => {
    writes = writes.then(() => store.put({ url, mode: record.mode, probedAt: record.probedAt })).catch((error: unknown) => log.warn('could not remember the transport', { error: String(error) }));
  };
}
