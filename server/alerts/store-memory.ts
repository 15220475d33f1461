/**
 * The in-memory alert store, for tests and throwaway servers: nothing survives the process. Every
 * method completes before it yields, so `apply` is as atomic as the SQLite transaction.
 */
import { DuplicateMessageError } from './store-errors';
import type { AlertStore, AckOutcome, SymbolPrice } from './store-types';
import type { HeldAlert } from './types';

export function createMemoryAlertStore(): AlertStore {
  const alerts = new Map<string, HeldAlert>();
  /** user → messageId → when, and the ack; in the order applied, so the oldest come first. */
  const applied = new Map<string, Map<string, { readonly at: number; readonly ack: AckOutcome }>>();
  const prices = new Map<string, SymbolPrice>();
  let closed = false;

  function open(): void {
    if (closed) throw new Error('The alert store is closed');
  }

  return {
    kind: 'memory',
    async load() {
      open();
      return { alerts: [...alerts.values()], prices: [...prices.values()] };
    },
    async findAck(user, messageId) {
      open();
      return applied.get(user)?.get(messageId)?.ack;
    },
    async apply({ user, messageId, at, ack, effect }, limits) {
      open();
      let records = applied.get(user);
      if (records?.has(messageId)) throw new DuplicateMessageError(user, messageId);
      if (!records) applied.set(user, (records = new Map()));
      records.set(messageId, { at, ack });
      // Map keys iterate in insertion order: the first ones are the oldest, the new one is last.
      for (const oldest of records.keys()) {
        if (records.size <= Math.max(1, limits.perUser)) break;
        records.delete(oldest);
      }
      if (effect?.type === 'put') alerts.set(effect.held.alert.id, effect.held);
      if (effect?.type === 'delete') alerts.delete(effect.alertId);
    },
    async saveStates(states) {
      open();
      for (const alert of states) {
        const held = alerts.get(alert.id);
        if (!held) continue;
        const { firedAt: _at, firedPrice: _price, ...rest } = held.alert;
        const { status, firedAt, firedPrice, fireCount } = alert;
        alerts.set(alert.id, {
          ...held,
          alert: { ...rest, status, fireCount, ...(firedAt === undefined ? {} : { firedAt }), ...(firedPrice === undefined ? {} : { firedPrice }) },
        });
      }
    },
    async savePrices(list) {
      open();
      for (const price of list) prices.set(price.symbol, price);
    },
    async trimApplied(before) {
      open();
      let removed = 0;
      for (const [user, records] of applied) {
        for (const [id, record] of records) {
          if (record.at < before) {
            records.delete(id);
            removed += 1;
          }
        }
        if (records.size === 0) applied.delete(user);
      }
      return removed;
    },
    async close() {
      closed = true;
    },
  };
}
