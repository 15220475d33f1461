/**
 * Overlays shown and not yet dismissed, and snoozed ones with the time they come back, in
 * IndexedDB: after a service-worker restart the overlay's frame can still fetch its text, a
 * dismiss still marks its entries read, and a snooze still ends.
 */
import type { OverlayStore } from '../core/overlays/store';
import { writeTransaction, type HubDb } from './db';

export function createOverlayStore(db: HubDb): OverlayStore {
  return {
    async all() {
      return (await db.get()).getAll('overlays');
    },
    async put(item) {
      await writeTransaction(await db.get(), ['overlays'], async (tx) => {
        await tx.store.put(item);
      });
    },
    async remove(ids) {
      await writeTransaction(await db.get(), ['overlays'], async (tx) => {
        await Promise.all(ids.map((id) => tx.store.delete(id)));
      });
    },
  };
}
