/** The refusal the hub remembers across restarts (`../core/connection/refusal.ts`), as one IndexedDB record. */
import type { RefusalStore } from '../core/connection/refusal';
import { writeTransaction, type HubDb } from './db';

const KEY = 'last';

export function createRefusalStore(db: HubDb): RefusalStore {
  return {
    async get() {
      const stored = await (await db.get()).get('refusal', KEY);
      if (!stored) return null;
      const { key: _key, ...refusal } = stored;
      return refusal;
    },
    async put(refusal) {
      await writeTransaction(await db.get(), ['refusal'], async (tx) => {
        await tx.store.put({ key: KEY, ...refusal });
      });
    },
    async clear() {
      await writeTransaction(await db.get(), ['refusal'], async (tx) => {
        await tx.store.delete(KEY);
      });
    },
  };
}
