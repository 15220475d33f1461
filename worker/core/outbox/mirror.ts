/**
 * The outbox's list in memory: a mirror of the store that changes only after a write committed,
 * so nothing is sent (or shown) that a crash could take back. It reads the store once (again after
 * a failed read), runs every write one after another on one chain, so a late write can never bring
 * back an entry a newer one removed, and tells its watchers of every committed change.
 */
import type { OutboxEntry, OutboxStore } from './store';
import type { Logger } from '../platform';
import { createWriteChain } from '../write-chain';

/** A committed change to the outbox. */
export interface OutboxChange {
  /** Entries removed because the server acknowledged them (`ok`). */
  readonly acked: readonly OutboxEntry[];
}

export interface OutboxMirrorDeps {
  readonly store: OutboxStore;
  readonly log: Logger;
  /** Runs once the store was read (and its entries announced). */
  onLoaded(): void;
}

export interface OutboxMirror {
  /** Every entry (queued and failed) in send order; empty until the store was read. */
  entries(): readonly OutboxEntry[];
  /** The entry with this id, if it is there. */
  get(id: string): OutboxEntry | undefined;
  isLoaded(): boolean;
  /** Reads the store once; resolves `false` when that failed (logged; the next call reads it again). */
  load(): Promise<boolean>;
  /** Runs `write` on the store after every earlier write. */
  write<T>(write: (store: OutboxStore) => Promise<T>): Promise<T>;
  /** A committed add: the entry joins the end, announced. */
  added(entry: OutboxEntry): void;
  /** A committed removal the user asked for, announced. */
  discarded(ids: ReadonlySet<string>): void;
  /** Committed answers: `failed` replace their entries, `removed` (acknowledged) go; announced as acked. */
  settled(failed: readonly OutboxEntry[], removed: ReadonlySet<string>): void;
  /** An entry with a new try count, in memory only (the store write is best effort): not announced. */
  counted(entry: OutboxEntry): void;
  /** Calls back after every committed change; returns the unsubscribe function. */
  watch(listener: (change: OutboxChange) => void): () => void;
  /** Resolves once the store was read and every write so far committed. */
  idle(): Promise<void>;
}

export function createOutboxMirror(deps: OutboxMirrorDeps): OutboxMirror {
  const { store, log } = deps;
  const writes = createWriteChain();
  const watchers = new Set<(change: OutboxChange) => void>();
  let entries: OutboxEntry[] = [];
  let byId = new Map<string, OutboxEntry>();
  let loaded = false;
  let loading: Promise<boolean> | null = null;

  function changed(acked: readonly OutboxEntry[] = []): void {
    for (const watcher of [...watchers]) {
      try {
        watcher({ acked });
      } catch (error) {
        log.warn('an outbox watcher failed', { error: String(error) });
      }
    }
  }

  function set(next: OutboxEntry[]): void {
    entries = next;
    byId = new Map(next.map((entry) => [entry.id, entry]));
  }

  function load(): Promise<boolean> {
    if (loaded) return Promise.resolve(true);
    loading ??= writes.run(() => store.all()).then(
      (stored) => {
        set(stored);
        loaded = true;
        const queued = stored.filter((entry) => entry.state === 'queued').length;
        if (stored.length > 0) log.info('outbox loaded', { queued, failed: stored.length - queued });
        changed();
        deps.onLoaded();
        return true;
      },
      (error: unknown) => {
        loading = null;
        log.warn('the outbox could not be read; it is read again on the next open', { error: String(error) });
        return false;
      },
    );
    return loading;
  }

  return {
    entries: () => entries,
    get: (id) => byId.get(id),
    isLoaded: () => loaded,
    load,
    write: (write) => writes.run(() => write(store)),
    added(entry) {
      entries = [...entries, entry];
      byId.set(entry.id, entry);
      changed();
    },
    discarded(ids) {
      set(entries.filter((entry) => !ids.has(entry.id)));
      changed();
    },
    settled(failed, removed) {
      const acked = entries.filter((entry) => removed.has(entry.id));
      const replaced = new Map(failed.map((entry) => [entry.id, entry]));
      set(entries.filter((entry) => !removed.has(entry.id)).map((entry) => replaced.get(entry.id) ?? entry));
      changed(acked);
    },
    counted(entry) {
      const index = entries.findIndex((e) => e.id === entry.id);
      if (index < 0) return;
      entries[index] = entry;
      byId.set(entry.id, entry);
    },
    watch(listener) {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
    async idle() {
      await load();
      await writes.idle();
    },
  };
}
