/**
 * The alert list views are shown: the latest `alerts:<user>` value from the server (kept in
 * IndexedDB for the next start, and shown from there until the server's arrives), merged with the
 * outbox (`mergeAlerts`): messages acknowledged since that value, then what is still queued or
 * failed. Every change to the merged list goes to every watcher as one whole `AlertsUpdate`, once
 * per turn however many changes that turn brought.
 */
import type { AlertsState, ServerAlert } from '../../../lib/wire/alerts';
import type { AlertItem, AlertsUpdate } from '../../../lib/rpc/hub-api';
import { isUserName } from '../../../lib/wire/ids';
import { topics } from '../../../lib/wire/topics';
import { mergeAlerts, parseAlertsState, RULE_FIELDS } from './alert-list';
import type { Outbox } from '../outbox/outbox';
import type { OutboxEntry } from '../outbox/store';
import type { Logger } from '../platform';
import type { SnapshotStore } from './store';

export interface MergedAlertsDeps {
  readonly outbox: Pick<Outbox, 'entries' | 'watch'>;
  readonly snapshots: SnapshotStore;
  readonly log: Logger;
  /** Whose alerts these are; `null` when unknown. */
  user(): string | null;
}

export interface MergedAlerts {
  /** The list as last computed, newest first. */
  current(): readonly AlertItem[];
  /** A validated value of the `alerts:<user>` topic, sent by the server at `at`: stored and shown. */
  receive(user: string, state: AlertsState, at: number): void;
  /** The user may have changed: show that user's alerts (their stored list until the server's arrives). */
  refresh(): void;
  /** Calls back with every change of the list; returns the unsubscribe function. */
  watch(listener: (update: AlertsUpdate) => void): () => void;
  close(): void;
}

/** Whether an outbox entry is `user`'s: written for them, or for whoever is connected. */
export const mine = (entry: OutboxEntry, user: string | null): boolean => entry.user === null || entry.user === user;

function sameItem(a: AlertItem, b: AlertItem): boolean {
  return (
    a.id === b.id &&
    a.state === b.state &&
    a.reason === b.reason &&
    a.firedAt === b.firedAt &&
    a.firedPrice === b.firedPrice &&
    (a.rule === b.rule || RULE_FIELDS.every((field) => a.rule[field] === b.rule[field]))
  );
}

function sameItems(a: readonly AlertItem[], b: readonly AlertItem[]): boolean {
  return a.length === b.length && a.every((item, i) => sameItem(item, b[i]!));
}

export function createMergedAlerts(deps: MergedAlertsDeps): MergedAlerts {
  const { outbox, log } = deps;
  /** The newest server value, and for whom. */
  let server: { readonly user: string; readonly alerts: readonly ServerAlert[] } | null = null;
  /** Messages acknowledged since the server's value was sent; the next value includes them. */
  let acked: OutboxEntry[] = [];
  let current: AlertItem[] = [];
  let loadingFor: string | null = null;
  let closed = false;
  const watchers = new Set<(update: AlertsUpdate) => void>();

  /** Whether the list must be computed again; `later()` schedules it. */
  let stale = false;

  /**
   * Computes the list after the current turn: a flush of the outbox brings an ack and a server
   * value per message, often many in one read from the socket, and views need only the last list.
   */
  function later(): void {
    if (stale) return;
    stale = true;
    queueMicrotask(() => {
      if (stale && !closed) recompute();
    });
  }

  function recompute(): void {
    stale = false;
    const user = deps.user();
    const serverAlerts = server && server.user === user ? server.alerts : [];
    const next = mergeAlerts(
      serverAlerts,
      acked.filter((entry) => mine(entry, user)),
      outbox.entries().filter((entry) => mine(entry, user)),
    );
    // An unchanged list (a server value that repeats what acks already showed) is not worth an
    // update to every view.
    if (sameItems(current, next)) return;
    current = next;
    const update: AlertsUpdate = { kind: 'alerts', alerts: next };
    for (const watcher of [...watchers]) {
      try {
        watcher(update);
      } catch (error) {
        log.warn('alerts delivery to a view failed', { error: String(error) });
      }
    }
  }

  /** Shows the stored list of `user` until the server's value arrives (a start while offline). */
  function loadStored(user: string): void {
    // A token naming no valid user never had a list stored (the server refuses it).
    if (!isUserName(user) || loadingFor === user || server?.user === user) return;
    loadingFor = user;
    deps.snapshots.get(topics.alerts(user)).then(
      (stored) => {
        if (closed || !stored || server?.user === user) return;
        const parsed = parseAlertsState(stored.value);
        if (!parsed.ok) return log.warn('ignored a stored alert list that is no longer valid', { error: parsed.error });
        server = { user, alerts: parsed.value.alerts };
        recompute();
      },
      (error: unknown) => log.warn('could not read the stored alert list', { error: String(error) }),
    );
  }

  /** The newest value not yet handed to the store, while a write is running. */
  type Unsaved = { readonly user: string; readonly state: AlertsState; readonly at: number };
  let unsaved: Unsaved | null = null;
  let saving = false;

  /**
   * Keeps the newest value for the next start. Only the newest matters, and a flush of the outbox
   * brings one per message: while a write runs, later values replace each other and only the last
   * is written after it.
   */
  function save(user: string, state: AlertsState, at: number): void {
    unsaved = { user, state, at };
    if (saving) return;
    saving = true;
    void (async () => {
      for (let next: Unsaved | null = unsaved; next; next = unsaved) {
        unsaved = null;
        await deps.snapshots
          .put({ topic: topics.alerts(next.user), value: next.state, at: next.at })
          .catch((error: unknown) => log.warn('could not store the alert list', { error: String(error) }));
      }
      saving = false;
    })();
  }

  const unwatchOutbox = outbox.watch((change) => {
    acked.push(...change.acked);
    later();
  });

  return {
    current() {
      if (stale) recompute();
      return current;
    },

    receive(user, state, at) {
      server = { user, alerts: state.alerts };
      acked = [];
      save(user, state, at);
      later();
    },

    refresh() {
      const user = deps.user();
      if (user !== null) loadStored(user);
      recompute();
    },

    watch(listener) {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },

    close() {
      closed = true;
      unwatchOutbox();
      watchers.clear();
    },
  };
}
