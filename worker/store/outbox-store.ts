/**
 * The outbox's IndexedDB store: client messages in their local order. Every change is one
 * committed transaction (`writeTransaction` awaits `tx.done`), so a message the hub accepted from a
 * view is on disk before anything is sent, and is gone only once its ack was handled.
 */
import { writeTransaction, type ClientMessage, type HubDb, type OutboxEntry } from './db';

/** What a new entry needs; the store gives it its `seq`. */
export type NewOutboxEntry = ClientMessage & {
  readonly id: string;
  readonly user: string | null;
  readonly createdAt: number;
};

export interface OutboxStore {
  /** Every entry, queued and failed, in `seq` order. */
  all(): Promise<OutboxEntry[]>;
  /** Writes a queued entry after every other one; resolves with it once committed. */
  add(entry: NewOutboxEntry): Promise<OutboxEntry>;
  /** Replaces entries (by id) that are still there; missing ones are not brought back. */
  update(entries: readonly OutboxEntry[]): Promise<void>;
  /** Deletes entries by id; unknown ids are ignored. */
  remove(ids: readonly string[]): Promise<void>;
}

export function createOutboxStore(db: HubDb): OutboxStore {
  return {
    async all() {
      return (await db.get()).getAllFromIndex('outbox', 'by-seq');
    },

    async add(entry) {
      return writeTransaction(await db.get(), ['outbox'], async (tx) => {
        // The newest entry's seq, read in the same transaction: two adds can never share one.
        const last = await tx.store.index('by-seq').openCursor(null, 'prev');
        const stored: OutboxEntry = { ...entry, seq: (last?.value.seq ?? 0) + 1, attempts: 0, state: 'queued' };
        await tx.store.add(stored);
        return stored;
      });
    },

    async update(entries) {
      await writeTransaction(await db.get(), ['outbox'], async (tx) => {
        // An entry removed meanwhile (acked, deleted by the user) must stay removed.
        const present = await Promise.all(entries.map((entry) => tx.store.getKey(entry.id)));
        await Promise.all(entries.filter((_, i) => present[i] !== undefined).map((entry) => tx.store.put(entry)));
      });
    },

    async remove(ids) {
      await writeTransaction(await db.get(), ['outbox'], async (tx) => {
        await Promise.all(ids.map((id) => tx.store.delete(id)));
      });
    },
  };
}
