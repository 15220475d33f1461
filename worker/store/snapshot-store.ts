/**
 * The latest value of the hub's own `state` topics (its `alerts:<user>`), kept in IndexedDB so the
 * alert list is there after a restart while the hub is still offline; the server's snapshot on the
 * next subscribe replaces it.
 */
import type { SnapshotStore } from '../core/alerts/store';
import { writeTransaction, type HubDb } from './db';

export function createSnapshotStore(db: HubDb): SnapshotStore {
  return {
    async get(topic) {
      return (await db.get()).get('snapshots', topic);
    },
    async put(snapshot) {
      await writeTransaction(await db.get(), ['snapshots'], async (tx) => {
        await tx.store.put(snapshot);
      });
    },
  };
}
