/**
 * The in-memory alert store, for tests and throwaway servers: nothing survives the process. Every
 * method completes before it yields, so `apply` is as atomic as the SQLite transaction.
 */
import type { AlertStore, AckOutcome, SymbolPrice } from './store-types';
import type { HeldAlert } from './types';

export function createMemoryAlertStore(): AlertStore {
  const alerts = new Map<string, HeldAlert>();
  /** `user\nmessageId` → when, and the ack. */
  const applied = new Map<string, { readonly at: number; readonly ack: AckOutcome }>();
  const prices = new Map<string, SymbolPrice>();
  let closed = false;
  const key = (user: string, messageId: string) => `${user}\n${messageId}`;

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
      return applied.get(key(user, messageId))?.ack;
    },
    async apply({ user, messageId, at, ack, effect }) {
      open();
      const k = key(user, messageId);
      if (applied.has(k)) throw new Error(`Message ${messageId} of ${user} was already applied`);
      applied.set(k, { at, ack });
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
      for (const [k, record] of applied) {
        if (record.at < before) {
          applied.delete(k);
          removed += 1;
        }
      }
      return removed;
    },
    async close() {
      closed = true;
    },
  };
}
