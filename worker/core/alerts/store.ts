/**
 * What the alerts keep across restarts: the latest value of the hub's own `alerts:<user>` topic, so
 * the alert list is there after a restart while the hub is still offline. Declared here, beside
 * the alerts, and implemented on IndexedDB by `worker/store/snapshot-store.ts`.
 */

/** The latest value of a `state` topic the hub keeps across restarts (its own `alerts:<user>`). */
export interface StoredSnapshot {
  readonly topic: string;
  readonly value: unknown;
  readonly at: number;
}

export interface SnapshotStore {
  get(topic: string): Promise<StoredSnapshot | undefined>;
  /** Replaces the topic's value; resolves once committed. */
  put(snapshot: StoredSnapshot): Promise<void>;
}
