/**
 * The alert engine the server runs: every alert, and an index per symbol so a tick looks only at
 * the rules it can fire, never at every rule (`bench/alert-engine.ts` measures the difference).
 *
 * Per symbol, an active rule sits in exactly one place:
 * - `above` / `below` / `crossing`: sorted by threshold. A tick fires a prefix (`above`: thresholds
 *   <= price), a suffix (`below`: >= price) or the slice between the previous and this price
 *   (`crossing`), each found by binary search and spliced out.
 * - `unprimed`: `crossing` rules that have seen no tick yet; their first tick only primes them
 *   (or fires them when exactly on the threshold), then they join the sorted list.
 * - `group`: `percent-move` rules of one window length, sorted by percent, sharing the window's
 *   lowest and highest price: a tick fires the prefix whose percent the move reaches.
 * - `young`: `percent-move` rules younger than their window. Their references are only the ticks
 *   since they started (see `HeldAlert.since`), so each keeps its own lowest and highest until its
 *   window has passed and it joins its group.
 * - `cooling`: recurring rules waiting out their cooldown, in a heap by the time they re-arm.
 * Expiry is one heap over all alerts, popped on every tick and by the sweep. Fired-once, expired
 * and paused alerts are held but indexed nowhere.
 */
import type { ServerAlert } from '../../lib/wire/alerts';
import { expiredAlert, firedAlert, isDue, newestFirst, percentMove, rearmAt, windowMs } from './conditions';
import { createMinHeap, type MinHeap } from './min-heap';
import { createTickRing, createWindowExtremes, type TickRing, type WindowExtremes } from './price-window';
import { createSortedList, type SortedList } from './sorted-list';
import type { AlertEngine, EngineOutcome, Firing, HeldAlert, LastPrice } from './types';

type Place = 'idle' | 'above' | 'below' | 'crossing' | 'unprimed' | 'young' | 'group' | 'cooling';

interface Entry {
  held: HeldAlert;
  /**
   * The index key, copied out of the rule: the threshold, or the percent of a `percent-move`.
   * Every entry has one shape, so binary searches read it without megamorphic property lookups.
   */
  readonly key: number;
  place: Place;
  /** Replaced or removed: heap entries pointing here are stale. */
  dead: boolean;
  /** `crossing`: the rule has a previous price. */
  primed: boolean;
  /** `percent-move`: counted in its symbol's window lengths, so the ring keeps its window. */
  watching: boolean;
  /** `young`: lowest and highest price the rule has seen. */
  lo: number;
  hi: number;
  /** `cooling`: when it re-arms. */
  rearmAt: number;
}

interface Group {
  readonly windowMs: number;
  readonly rules: SortedList<Entry>;
  readonly extremes: WindowExtremes;
}

interface SymbolState {
  last: LastPrice | undefined;
  readonly above: SortedList<Entry>;
  readonly below: SortedList<Entry>;
  readonly crossing: SortedList<Entry>;
  readonly unprimed: Set<Entry>;
  readonly young: Set<Entry>;
  readonly groups: Map<number, Group>;
  readonly cooling: MinHeap<Entry>;
  /** Window length (ms) → percent rules watching it; the ring keeps the longest. */
  readonly windows: Map<number, number>;
  /** The longest of `windows` (0 without any). */
  longestWindow: number;
  readonly ring: TickRing;
}

const keyOf = (entry: Entry): number => entry.key;

export function createAlertEngine(): AlertEngine {
  const entries = new Map<string, Entry>();
  const byUser = new Map<string, Map<string, Entry>>();
  const symbols = new Map<string, SymbolState>();
  const expiries = createMinHeap<Entry>();

  function symbolState(symbol: string): SymbolState {
    let state = symbols.get(symbol);
    if (!state) {
      state = {
        last: undefined,
        above: createSortedList(keyOf),
        below: createSortedList(keyOf),
        crossing: createSortedList(keyOf),
        unprimed: new Set(),
        young: new Set(),
        groups: new Map(),
        cooling: createMinHeap(),
        windows: new Map(),
        longestWindow: 0,
        ring: createTickRing(),
      };
      symbols.set(symbol, state);
    }
    return state;
  }

  const symbolOf = (entry: Entry): SymbolState => symbolState(entry.held.alert.rule.symbol);

  function watch(sym: SymbolState, entry: Entry): void {
    const w = windowMs(entry.held.alert.rule);
    sym.windows.set(w, (sym.windows.get(w) ?? 0) + 1);
    sym.longestWindow = Math.max(sym.longestWindow, w);
    entry.watching = true;
  }

  function unwatch(sym: SymbolState, entry: Entry): void {
    if (!entry.watching) return;
    entry.watching = false;
    const w = windowMs(entry.held.alert.rule);
    const n = (sym.windows.get(w) ?? 1) - 1;
    if (n > 0) return void sym.windows.set(w, n);
    sym.windows.delete(w);
    if (w === sym.longestWindow) sym.longestWindow = Math.max(0, ...sym.windows.keys());
  }

  /** Takes the entry out of wherever it is indexed and counted (heap entries go stale by themselves). */
  function unindex(entry: Entry): void {
    const sym = symbolOf(entry);
    switch (entry.place) {
      case 'above':
      case 'below':
      case 'crossing':
        sym[entry.place].remove(entry);
        break;
      case 'unprimed':
        sym.unprimed.delete(entry);
        break;
      case 'young':
        sym.young.delete(entry);
        break;
      case 'group': {
        const w = windowMs(entry.held.alert.rule);
        const group = sym.groups.get(w);
        group?.rules.remove(entry);
        if (group?.rules.size === 0) sym.groups.delete(w);
        break;
      }
      case 'cooling':
      case 'idle':
        break;
    }
    entry.place = 'idle';
    unwatch(sym, entry);
  }

  function joinGroup(sym: SymbolState, entry: Entry, at: number): void {
    const w = windowMs(entry.held.alert.rule);
    let group = sym.groups.get(w);
    if (!group) {
      group = { windowMs: w, rules: createSortedList(keyOf), extremes: createWindowExtremes(w) };
      for (const tick of sym.ring.from(at - w)) group.extremes.push(tick);
      sym.groups.set(w, group);
    }
    group.rules.insert(entry);
    entry.place = 'group';
  }

  /** Puts an active rule where the next tick will evaluate it; `at` is the tick being handled, if any. */
  function arm(sym: SymbolState, entry: Entry, at: number | undefined): void {
    const { rule } = entry.held.alert;
    switch (rule.condition) {
      case 'above':
      case 'below':
        sym[rule.condition].insert(entry);
        entry.place = rule.condition;
        return;
      case 'crossing':
        if (entry.primed) {
          sym.crossing.insert(entry);
          entry.place = 'crossing';
        } else {
          sym.unprimed.add(entry);
          entry.place = 'unprimed';
        }
        return;
      case 'percent-move':
        if (at !== undefined && entry.held.since < at - windowMs(rule)) return joinGroup(sym, entry, at);
        entry.lo = Infinity;
        entry.hi = -Infinity;
        for (const tick of sym.ring.after(entry.held.since)) {
          entry.lo = Math.min(entry.lo, tick.price);
          entry.hi = Math.max(entry.hi, tick.price);
        }
        sym.young.add(entry);
        entry.place = 'young';
        return;
    }
  }

  function cool(sym: SymbolState, entry: Entry, until: number): void {
    entry.place = 'cooling';
    entry.rearmAt = until;
    sym.cooling.push(until, entry);
  }

  function drop(entry: Entry): void {
    entry.dead = true;
    unindex(entry);
    entries.delete(entry.held.alert.id);
    const mine = byUser.get(entry.held.user);
    mine?.delete(entry.held.alert.id);
    if (mine?.size === 0) byUser.delete(entry.held.user);
  }

  function expireDue(now: number, expired: HeldAlert[]): void {
    for (let key = expiries.peekKey(); key !== undefined && key <= now; key = expiries.peekKey()) {
      const { item } = expiries.pop()!;
      if (item.dead || item.held.alert.rule.expiresAt !== key || !isDue(item.held.alert, now)) continue;
      unindex(item);
      item.held = { ...item.held, alert: expiredAlert(item.held.alert) };
      expired.push(item.held);
    }
  }

  return {
    put(held) {
      const old = entries.get(held.alert.id);
      if (old) drop(old);
      const { rule } = held.alert;
      const key = (rule.condition === 'percent-move' ? rule.percent : rule.price) ?? 0;
      const entry: Entry = { held, key, place: 'idle', dead: false, primed: false, watching: false, lo: Infinity, hi: -Infinity, rearmAt: 0 };
      entries.set(held.alert.id, entry);
      let mine = byUser.get(held.user);
      if (!mine) byUser.set(held.user, (mine = new Map()));
      mine.set(held.alert.id, entry);
      const { alert } = held;
      if (alert.rule.expiresAt !== undefined && (alert.status === 'active' || alert.status === 'paused')) {
        expiries.push(alert.rule.expiresAt, entry);
      }
      if (alert.status !== 'active') return;
      const sym = symbolState(alert.rule.symbol);
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
      const sym = symbolState(symbol);
      sym.last = { price, at };
      sym.ring.push({ at, price });
    },
    lastPrice: (symbol) => symbols.get(symbol)?.last,
    *prices() {
      for (const [symbol, state] of symbols) if (state.last) yield [symbol, state.last];
    },
    tick(symbol, price, tickAt) {
      const sym = symbolState(symbol);
      // Time never runs backwards for a symbol: windows and cooldowns assume ordered ticks.
      const at = sym.last ? Math.max(tickAt, sym.last.at) : tickAt;
      const fired: Firing[] = [];
      const expired: HeldAlert[] = [];
      expireDue(at, expired);
      let examined = expired.length;

      const fire = (entry: Entry): void => {
        examined += 1;
        const alert = firedAlert(entry.held.alert, price, at);
        entry.held = { ...entry.held, alert };
        entry.primed = true;
        entry.place = 'idle';
        fired.push({ user: entry.held.user, alert, price, at });
        const until = rearmAt(alert);
        if (until === undefined) unwatch(sym, entry);
        else cool(sym, entry, until);
      };

      for (let key = sym.cooling.peekKey(); key !== undefined && key <= at; key = sym.cooling.peekKey()) {
        const { item } = sym.cooling.pop()!;
        if (item.dead || item.place !== 'cooling' || item.rearmAt !== key) continue;
        examined += 1;
        item.place = 'idle';
        arm(sym, item, at);
      }

      const prev = sym.last?.price;
      sym.last = { price, at };
      sym.ring.push({ at, price });
      sym.ring.trimBefore(at - sym.longestWindow);

      // Primed crossing rules first: the ones primed by this very tick must not judge it against a
      // previous price they never saw.
      if (prev !== undefined) {
        const list = sym.crossing;
        const [start, end] =
          price > prev
            ? [list.upperBound(prev), list.upperBound(price)]
            : price < prev
              ? [list.lowerBound(price), list.lowerBound(prev)]
              : [list.lowerBound(price), list.upperBound(price)];
        for (const entry of list.take(start, end)) fire(entry);
      }
      for (const entry of sym.unprimed) {
        sym.unprimed.delete(entry);
        entry.primed = true;
        if (entry.key === price) {
          fire(entry);
        } else {
          examined += 1;
          sym.crossing.insert(entry);
          entry.place = 'crossing';
        }
      }
      for (const entry of sym.above.take(0, sym.above.upperBound(price))) fire(entry);
      for (const entry of sym.below.take(sym.below.lowerBound(price), sym.below.size)) fire(entry);

      const tick = { at, price };
      for (const group of sym.groups.values()) {
        group.extremes.push(tick);
        group.extremes.evict(at);
      }
      for (const entry of sym.young) {
        if (entry.held.since < at - windowMs(entry.held.alert.rule)) {
          sym.young.delete(entry);
          joinGroup(sym, entry, at);
          continue;
        }
        entry.lo = Math.min(entry.lo, price);
        entry.hi = Math.max(entry.hi, price);
        if (percentMove(price, entry.lo, entry.hi) >= entry.key) {
          sym.young.delete(entry);
          fire(entry);
        } else {
          examined += 1;
        }
      }
      for (const group of sym.groups.values()) {
        const move = percentMove(price, group.extremes.lowest() ?? price, group.extremes.highest() ?? price);
        for (const entry of group.rules.take(0, group.rules.upperBound(move))) fire(entry);
        if (group.rules.size === 0) sym.groups.delete(group.windowMs);
      }
      const outcome: EngineOutcome = { fired, expired, examined };
      return outcome;
    },
    sweep(now) {
      const expired: HeldAlert[] = [];
      expireDue(now, expired);
      return { fired: [], expired, examined: expired.length };
    },
    get size() {
      return entries.size;
    },
  };
}
