/**
 * The outbox's IndexedDB store: client messages in their local order. Every change is one
 * committed transaction (`writeTransaction` awaits `tx.done`), so a message the hub accepted from a
 * view is on disk before anything is sent, and is gone only once its ack was handled.
 */
import type { OutboxEntry, OutboxStore } from '../core/outbox/store';
import { writeTransaction, type HubDb } from './db';

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
