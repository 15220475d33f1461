/**
 * One symbol's index of active rules, where each active rule sits in exactly one place:
 * - `above` / `below` / `crossing`: sorted by threshold, so a tick fires a prefix, a suffix or a
 *   slice found by binary search (see `tick-pass.ts`).
 * - `unprimed`: `crossing` rules that have seen no tick yet; their first tick only primes them
 *   (or fires them when exactly on the threshold), then they join the sorted list.
 * - `group`: `percent-move` rules of one window length, sorted by percent, sharing the window's
 *   lowest and highest price.
 * - `young`: `percent-move` rules younger than their window. Their references are only the ticks
 *   since they started (see `HeldAlert.since`), so each keeps its own lowest and highest until its
 *   window has passed and it joins its group.
 * - `cooling`: recurring rules waiting out their cooldown, in a heap by the time they re-arm.
 * Fired-once, expired and paused alerts are `idle`: held by the engine, indexed nowhere. The
 * symbol also keeps its last price and the recent ticks its longest watched window needs.
 */
import { windowMs } from './conditions';
import { createMinHeap, type MinHeap } from './min-heap';
import { createTickRing, createWindowExtremes, type TickRing, type WindowExtremes } from './price-window';
import { createSortedList, type SortedList } from './sorted-list';
import type { HeldAlert, LastPrice } from './types';

export type Place = 'idle' | 'above' | 'below' | 'crossing' | 'unprimed' | 'young' | 'group' | 'cooling';

/** One alert as the engine indexes it. */
export interface Entry {
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

export interface Group {
  readonly windowMs: number;
  readonly rules: SortedList<Entry>;
  readonly extremes: WindowExtremes;
}

export interface SymbolIndex {
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

/** A new, unindexed entry for `held`. */
export function createEntry(held: HeldAlert): Entry {
  const { rule } = held.alert;
  const key = (rule.condition === 'percent-move' ? rule.percent : rule.price) ?? 0;
  return { held, key, place: 'idle', dead: false, primed: false, watching: false, lo: Infinity, hi: -Infinity, rearmAt: 0 };
}

export function createSymbolIndex(): SymbolIndex {
  return {
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
}

/** Counts a `percent-move` rule's window, so the ring keeps enough ticks for it. */
export function watch(sym: SymbolIndex, entry: Entry): void {
  const w = windowMs(entry.held.alert.rule);
  sym.windows.set(w, (sym.windows.get(w) ?? 0) + 1);
  sym.longestWindow = Math.max(sym.longestWindow, w);
  entry.watching = true;
}

export function unwatch(sym: SymbolIndex, entry: Entry): void {
  if (!entry.watching) return;
  entry.watching = false;
  const w = windowMs(entry.held.alert.rule);
  const n = (sym.windows.get(w) ?? 1) - 1;
  if (n > 0) return void sym.windows.set(w, n);
  sym.windows.delete(w);
  if (w === sym.longestWindow) sym.longestWindow = Math.max(0, ...sym.windows.keys());
}

/** Takes the entry out of wherever it is indexed and counted (heap entries go stale by themselves). */
export function unindex(sym: SymbolIndex, entry: Entry): void {
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

/** Moves a `percent-move` rule whose window has passed into its window's group (made if needed). */
export function joinGroup(sym: SymbolIndex, entry: Entry, at: number): void {
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
export function arm(sym: SymbolIndex, entry: Entry, at: number | undefined): void {
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

/** Parks a recurring rule until its cooldown ends at `until`. */
export function cool(sym: SymbolIndex, entry: Entry, until: number): void {
  entry.place = 'cooling';
  entry.rearmAt = until;
  sym.cooling.push(until, entry);
}
