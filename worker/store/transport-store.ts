/** Which transport worked per server (`../core/transports/transport-memory.ts`), one IndexedDB record per server URL. */
import type { TransportStore } from '../core/transports/transport-memory';
import { writeTransaction, type HubDb } from './db';

export function createTransportStore(db: HubDb): TransportStore {
  return {
    async getAll() {
      return (await db.get()).getAll('transports');
    },
    async put(record) {
      await writeTransaction(await db.get(), ['transports'], async (tx) => {
        await tx.store.put(record);
      });
    },
  };
}
