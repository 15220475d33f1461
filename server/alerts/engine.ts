/**
 * The alert engine the server runs: every alert, and an index per symbol so a tick looks only at
 * the rules it can fire, never at every rule (`bench/alert-engine.ts` measures the difference).
 * Where a rule sits in its symbol's index is `symbol-index.ts`; what one tick does there is
 * `tick-pass.ts`. This module keeps the alerts by id and by user, and expiry: one heap over all
 * alerts, popped on every tick and by the sweep.
 */
import type { ServerAlert } from '../../lib/wire/alerts';
import { expiredAlert, isDue, newestFirst, rearmAt } from './conditions';
import { createMinHeap } from './min-heap';
import { arm, cool, createEntry, createSymbolIndex, unindex, watch, type Entry, type SymbolIndex } from './symbol-index';
import { passTick } from './tick-pass';
import type { AlertEngine, HeldAlert } from './types';

export function createAlertEngine(): AlertEngine {
  const entries = new Map<string, Entry>();
  const byUser = new Map<string, Map<string, Entry>>();
  const symbols = new Map<string, SymbolIndex>();
  const expiries = createMinHeap<Entry>();

  function symbolIndex(symbol: string): SymbolIndex {
    let index = symbols.get(symbol);
    if (!index) symbols.set(symbol, (index = createSymbolIndex()));
    return index;
  }

  const symbolOf = (entry: Entry): SymbolIndex => symbolIndex(entry.held.alert.rule.symbol);

  function drop(entry: Entry): void {
    entry.dead = true;
    unindex(symbolOf(entry), entry);
    entries.delete(entry.held.alert.id);
    const mine = byUser.get(entry.held.user);
    mine?.delete(entry.held.alert.id);
    if (mine?.size === 0) byUser.delete(entry.held.user);
  }

  function expireDue(now: number): HeldAlert[] {
    const expired: HeldAlert[] = [];
    for (let key = expiries.peekKey(); key !== undefined && key <= now; key = expiries.peekKey()) {
      const { item } = expiries.pop()!;
      if (item.dead || item.held.alert.rule.expiresAt !== key || !isDue(item.held.alert, now)) continue;
      unindex(symbolOf(item), item);
      item.held = { ...item.held, alert: expiredAlert(item.held.alert) };
      expired.push(item.held);
    }
    return expired;
  }

  return {
    put(held) {
      const old = entries.get(held.alert.id);
      if (old) drop(old);
      const entry = createEntry(held);
      entries.set(held.alert.id, entry);
      let mine = byUser.get(held.user);
      if (!mine) byUser.set(held.user, (mine = new Map()));
      mine.set(held.alert.id, entry);
      const { alert } = held;
      if (alert.rule.expiresAt !== undefined && (alert.status === 'active' || alert.status === 'paused')) {
        expiries.push(alert.rule.expiresAt, entry);
      }
      if (alert.status !== 'active') return;
      const sym = symbolIndex(alert.rule.symbol);
      // A tick strictly after `since` is one the rule saw (see HeldAlert.since).
      entry.primed = sym.last !== undefined && sym.last.at > held.since;
      if (alert.rule.condition === 'percent-move') watch(sym, entry);
      const until = rearmAt(alert);
      if (until !== undefined) cool(sym, entry, until);
      else arm(sym, entry, undefined);
    },
    remove(alertId) {
      const entry = entries.get(alertId);
      if (!entry) return undefined;
      drop(entry);
      return entry.held;
    },
    get: (alertId) => entries.get(alertId)?.held,
    list(user) {
      const mine = byUser.get(user);
      return mine ? [...mine.values()].map((e): ServerAlert => e.held.alert).sort(newestFirst) : [];
    },
    count: (user) => byUser.get(user)?.size ?? 0,
    *all() {
      for (const entry of entries.values()) yield entry.held;
    },
    seed(symbol, price, at) {
      const sym = symbolIndex(symbol);
      sym.last = { price, at };
      sym.ring.push({ at, price });
    },
    lastPrice: (symbol) => symbols.get(symbol)?.last,
    *prices() {
      for (const [symbol, index] of symbols) if (index.last) yield [symbol, index.last];
    },
    tick(symbol, price, tickAt) {
      const sym = symbolIndex(symbol);
      // Time never runs backwards for a symbol: windows and cooldowns assume ordered ticks.
      const at = sym.last ? Math.max(tickAt, sym.last.at) : tickAt;
      const expired = expireDue(at);
      const { fired, examined } = passTick(sym, price, at);
      return { fired, expired, examined: expired.length + examined };
    },
    sweep(now) {
      const expired = expireDue(now);
      return { fired: [], expired, examined: expired.length };
    },
    get size() {
      return entries.size;
    },
  };
}
