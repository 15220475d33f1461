/**
 * What the overlays keep across restarts: each overlay shown and not yet dismissed, and each
 * snoozed one with the time it comes back. Declared here, beside the overlays, and implemented on
 * IndexedDB by `worker/store/overlay-store.ts`.
 */
import type { OverlayItem } from '../../../lib/rpc/hub-api';

/** An overlay as stored: active, or snoozed until `snoozedUntil` (wall-clock ms). */
export type StoredOverlay = OverlayItem & { readonly snoozedUntil?: number };

export interface OverlayStore {
  all(): Promise<StoredOverlay[]>;
  /** Resolves once committed. */
  put(item: StoredOverlay): Promise<void>;
  /** Resolves once committed; unknown ids are ignored. */
  remove(ids: readonly string[]): Promise<void>;
}
