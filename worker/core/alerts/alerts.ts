/**
 * The user's price alerts inside the hub: the list views show (the server's value merged with the
 * outbox, `./merged-alerts.ts`) and the commands that change it. Every command validates first
 * (the same rule checks as the form and the server) and answers only once its message is committed
 * to the outbox; the outbox sends it.
 */
import { parseAlertRule, type AlertsState } from '../../../lib/wire/alerts';
import { err, ok, toErrorData, type Result } from '../../../lib/errors';
import type { AlertItem, AlertsUpdate } from '../../../lib/rpc/hub-api';
import { newMessageId } from '../../../lib/wire/ids';
import { createMergedAlerts, mine } from './merged-alerts';
import type { ClientMessage, OutboxEntry } from '../outbox/store';
import type { Outbox } from '../outbox/outbox';
import type { Clock, Logger } from '../platform';
import type { SnapshotStore } from './store';

export interface AlertsDeps {
  readonly outbox: Outbox;
  readonly snapshots: SnapshotStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Whose alerts these are: the open connection's user, else the access token's subject; `null` when unknown. */
  user(): string | null;
}

export interface Alerts {
  /** Every alert, newest first, once the outbox was read. */
  list(): Promise<readonly AlertItem[]>;
  /** Validates the rule and queues its creation; answers with the new alert's id. */
  create(rule: unknown): Promise<Result<{ readonly id: string }>>;
  pause(id: unknown, paused: unknown): Promise<Result<null>>;
  /** Queues a deletion; an alert the server refused is simply removed here. */
  remove(id: unknown): Promise<Result<null>>;
  /** A validated value of the `alerts:<user>` topic, sent by the server at `at`. */
  receive(user: string, state: AlertsState, at: number): void;
  /** The user may have changed (connection opened, settings saved): show that user's alerts. */
  refresh(): void;
  /** Calls back with every change of the list; returns the unsubscribe function. */
  watch(listener: (update: AlertsUpdate) => void): () => void;
  close(): void;
}

const MAX_ALERT_ID_LENGTH = 64;

function checkId(id: unknown): Result<string> {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ALERT_ID_LENGTH ? ok(id) : err('InvalidAlert', 'Not an alert id');
}

export function createAlerts(deps: AlertsDeps): Alerts {
  const { outbox, log, clock } = deps;
  const merged = createMergedAlerts({ outbox, snapshots: deps.snapshots, log, user: () => deps.user() });

  async function enqueue(message: ClientMessage): Promise<Result<null>> {
    try {
      await outbox.enqueue(deps.user(), message, newMessageId());
      return ok(null);
    } catch (error) {
      const data = toErrorData(error);
      log.warn('could not queue a client message', { kind: message.kind, error: data.message });
      return err('StorageError', `The change could not be saved: ${data.message}`);
    }
  }

  /** Entries of this alert for the current user, in send order. */
  const entriesOf = (alertId: string): OutboxEntry[] => {
    const user = deps.user();
    return outbox.entries().filter((entry) => entry.body.alertId === alertId && mine(entry, user));
  };

  /** Failed messages of this alert are superseded by a newer one: they go. */
  async function dropFailed(alertId: string): Promise<void> {
    const failed = entriesOf(alertId).filter((entry) => entry.state === 'failed');
    if (failed.length > 0) await outbox.discard(failed.map((entry) => entry.id));
  }

  return {
    async list() {
      await outbox.ready();
      return merged.current();
    },

    async create(input) {
      const parsed = parseAlertRule(input, clock.now());
      if (!parsed.ok) return err('InvalidAlert', parsed.error);
      const alertId = newMessageId();
      const queued = await enqueue({ kind: 'alert.create', body: { alertId, rule: parsed.value } });
      return queued.ok ? ok({ id: alertId }) : queued;
    },

    async pause(input, paused) {
      const id = checkId(input);
      if (!id.ok) return id;
      if (typeof paused !== 'boolean') return err('InvalidAlert', 'paused must be true or false');
      await outbox.ready();
      const item = merged.current().find((alert) => alert.id === id.value);
      if (!item) return err('NotFound', 'There is no such alert');
      const refusedCreate = entriesOf(id.value).some((entry) => entry.kind === 'alert.create' && entry.state === 'failed');
      if (refusedCreate) return err('InvalidAlert', 'The server refused this alert; delete it instead');
      try {
        await dropFailed(id.value);
      } catch (error) {
        log.warn('could not drop failed messages', { error: String(error) });
      }
      return enqueue({ kind: 'alert.pause', body: { alertId: id.value, paused } });
    },

    async remove(input) {
      const id = checkId(input);
      if (!id.ok) return id;
      await outbox.ready();
      const entries = entriesOf(id.value);
      const refusedCreate = entries.some((entry) => entry.kind === 'alert.create' && entry.state === 'failed');
      try {
        // The server never held it: forgetting it here is the whole deletion.
        if (refusedCreate) {
          await outbox.discard(entries.map((entry) => entry.id));
          return ok(null);
        }
        if (!merged.current().some((alert) => alert.id === id.value)) return err('NotFound', 'There is no such alert');
        // Deleting twice (a double click) must not queue a second delete the server would refuse.
        if (entries.some((entry) => entry.kind === 'alert.delete' && entry.state === 'queued')) return ok(null);
        await dropFailed(id.value);
      } catch (error) {
        const data = toErrorData(error);
        return err('StorageError', `The change could not be saved: ${data.message}`);
      }
      return enqueue({ kind: 'alert.delete', body: { alertId: id.value } });
    },

    receive: (user, state, at) => merged.receive(user, state, at),
    refresh: () => merged.refresh(),
    watch: (listener) => merged.watch(listener),
    close: () => merged.close(),
  };
}
