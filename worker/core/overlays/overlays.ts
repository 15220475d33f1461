/**
 * Alert overlays: when the streams store NEW feed entries that call for one (a fired alert, a
 * `high` notification), the hub hands an `OverlayItem` to the host's notifier, which shows it once,
 * in the focused tab or as a system notification. Replays of stored events never get here (the
 * feed store skips them), so nothing is shown twice. Live events get one overlay each; what a
 * subscription's replay recovers (missed while away) is gathered until the replay is complete and
 * shown as one summary. Nothing is shown during quiet hours (the feed and badge still update).
 *
 * Active items stay (in memory and IndexedDB) until dismissed, so the overlay's frame can fetch the
 * text with `overlay(id)`. A dismiss hides it everywhere and marks its entries read; a snooze hides
 * it and shows it again later. A snoozed item is stored with the time it comes back, so a worker
 * restart (Chrome stops idle service workers; the wake alarm starts them again) re-arms it, or
 * shows it at once when that time has passed meanwhile.
 */
import type { OverlayItem } from '../../../lib/rpc/hub-api';
import type { FeedEntry, NotificationEntry } from '../../../lib/rpc/feed-entry';
import { inQuietHours, type Settings } from '../../../lib/rpc/settings';
import type { Feed } from '../feed/feed';
import { callsForOverlay, overlaysFor } from './overlay-items';
import type { OverlayStore, StoredOverlay } from './store';
import type { Clock, Logger, Notifier, TimerHandle } from '../platform';
import { createWriteChain } from '../write-chain';
import type { StoredOrigin } from '../feed/stream-writer';

/** Most overlays kept active; showing another hides the oldest. */
export const MAX_ACTIVE_OVERLAYS = 20;
/** Longest snooze: one day. */
export const MAX_SNOOZE_MINUTES = 24 * 60;

export interface OverlaysDeps {
  /** The host's notifier; without one nothing is shown or kept. */
  readonly notifier?: Notifier;
  readonly store: OverlayStore;
  readonly feed: Feed;
  readonly clock: Clock;
  readonly log: Logger;
  settings(): Settings;
}

export interface Overlays {
  /** Entries the streams just stored for the first time, and how they arrived. */
  stored(entries: readonly FeedEntry[], origin: StoredOrigin): void;
  /** The active item with this id, or `null`. */
  get(id: unknown): Promise<OverlayItem | null>;
  /** Hides the overlay everywhere; marks its entries read, or with `snoozeMinutes` shows it again then. */
  dismiss(id: unknown, snoozeMinutes?: unknown): Promise<void>;
  /** Resolves once the stored items were read and every write so far committed. */
  idle(): Promise<void>;
  close(): void;
}

function checkSnooze(minutes: unknown): number | null {
  if (minutes === undefined || minutes === null) return null;
  if (typeof minutes !== 'number' || !Number.isFinite(minutes) || minutes <= 0 || minutes > MAX_SNOOZE_MINUTES) {
    throw new TypeError(`Snooze must be between 0 and ${MAX_SNOOZE_MINUTES} minutes, not ${String(minutes)}`);
  }
  return minutes;
}

export function createOverlays(deps: OverlaysDeps): Overlays {
  const { store, clock, log } = deps;
  const active = new Map<string, OverlayItem>();
  /** Snoozed items and the timers that bring them back. */
  const snoozed = new Map<string, { readonly item: OverlayItem; readonly timer: TimerHandle }>();
  /** Per topic, entries recovered by a replay still under way. */
  const recovering = new Map<string, NotificationEntry[]>();
  let closed = false;

  const writes = createWriteChain();
  /** Writes commit in the order they were asked for (a put never lands after its removal). */
  function serial(write: () => Promise<void>, what: string): void {
    void writes.run(write).catch((error: unknown) => log.warn(`could not ${what}`, { error: String(error) }));
  }

  const loaded: Promise<void> = store.all().then(
    (items) => {
      for (const stored of items) {
        const { snoozedUntil, ...item } = stored;
        // Items shown or snoozed since the start are newer and win.
        if (active.has(item.id) || snoozed.has(item.id)) continue;
        if (snoozedUntil === undefined) active.set(item.id, item);
        else snoozeFor(item, Math.max(0, snoozedUntil - clock.now()));
      }
    },
    (error: unknown) => log.warn('could not read the active overlays', { error: String(error) }),
  );

  function show(item: OverlayItem): void {
    const notifier = deps.notifier;
    if (!notifier || closed) return;
    const settings = deps.settings();
    if (inQuietHours(settings.quietHours, new Date(clock.now()))) {
      return log.info('quiet hours: an overlay was not shown', { id: item.id, title: item.title });
    }
    active.delete(item.id);
    active.set(item.id, item);
    serial(() => store.put(item), 'store an overlay');
    // Map order is insertion order: the first keys are the oldest.
    for (const old of [...active.keys()].slice(0, Math.max(0, active.size - MAX_ACTIVE_OVERLAYS))) forget(old);
    try {
      notifier.show(item, { systemNotifications: settings.systemNotifications ?? true });
    } catch (error) {
      log.warn('the notifier could not show an overlay', { id: item.id, error: String(error) });
    }
  }

  /** Removes the item here and everywhere it is shown. */
  function forget(id: string): OverlayItem | undefined {
    const item = active.get(id);
    active.delete(id);
    serial(() => store.remove([id]), 'remove an overlay');
    try {
      deps.notifier?.hide(id);
    } catch (error) {
      log.warn('the notifier could not hide an overlay', { id, error: String(error) });
    }
    return item;
  }

  /** Keeps `item` hidden for `ms`, stored with its return time, then shows it again. */
  function snoozeFor(item: OverlayItem, ms: number): void {
    const timer = clock.setTimeout(() => {
      snoozed.delete(item.id);
      // Removed first: in quiet hours `show` stores nothing, and the snooze is over either way.
      serial(() => store.remove([item.id]), 'end a snooze');
      show(item);
    }, ms);
    snoozed.set(item.id, { item, timer });
  }

  /** Cancels a snooze; returns the snoozed item, if there was one. */
  function unsnooze(id: string): OverlayItem | undefined {
    const entry = snoozed.get(id);
    if (!entry) return undefined;
    clock.clearTimeout(entry.timer);
    snoozed.delete(id);
    return entry.item;
  }

  function isReplayed(entry: NotificationEntry, replay: StoredOrigin['replay']): boolean {
    return replay !== null && entry.epoch === replay.epoch && entry.seq <= replay.until;
  }

  return {
    stored(entries, origin) {
      const candidates = entries.filter(callsForOverlay);
      const live = candidates.filter((entry) => !isReplayed(entry, origin.replay));
      // What a first start replays is the feed's history, not something missed: no overlay.
      const recovered = origin.history ? [] : candidates.filter((entry) => isReplayed(entry, origin.replay));
      for (const item of overlaysFor(live, false)) show(item);
      if (recovered.length > 0) recovering.set(origin.topic, [...(recovering.get(origin.topic) ?? []), ...recovered]);
      if (!origin.replayDone) return;
      const missed = recovering.get(origin.topic) ?? [];
      recovering.delete(origin.topic);
      for (const item of overlaysFor(missed, true)) show(item);
    },

    async get(id) {
      await loaded;
      return typeof id === 'string' ? (active.get(id) ?? null) : null;
    },

    async dismiss(id, snoozeMinutes) {
      if (typeof id !== 'string') throw new TypeError('Expected an overlay id');
      const snooze = checkSnooze(snoozeMinutes);
      await loaded;
      const wasSnoozed = unsnooze(id);
      // Hidden even when unknown here: an overlay still on screen from before a restart goes too.
      const item = forget(id) ?? wasSnoozed;
      if (!item) return;
      if (snooze !== null) {
        const record: StoredOverlay = { ...item, snoozedUntil: clock.now() + snooze * 60_000 };
        serial(() => store.put(record), 'store a snooze');
        snoozeFor(item, snooze * 60_000);
        return;
      }
      await deps.feed.markRead(item.entryIds);
    },

    async idle() {
      await loaded;
      await writes.idle();
    },

    close() {
      closed = true;
      // Stored snoozes stay: the next start re-arms them.
      for (const { timer } of snoozed.values()) clock.clearTimeout(timer);
      snoozed.clear();
    },
  };
}
