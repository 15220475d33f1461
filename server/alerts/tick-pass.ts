/**
 * One tick through one symbol's index: re-arm the rules whose cooldown ended, record the price,
 * then fire what the price satisfies, looking only at rules that can fire:
 * - primed `crossing` rules between the previous and this price (a slice found by binary search),
 *   before the `unprimed` ones this tick primes, which must not judge it against a previous price
 *   they never saw;
 * - `above` rules with thresholds <= price (a prefix), `below` rules with thresholds >= price (a
 *   suffix);
 * - `young` percent rules against their own extremes (joining their group once their window has
 *   passed), then each group's prefix whose percent the move within its window reaches.
 */
import { firedAlert, percentMove, rearmAt, windowMs } from './conditions';
import { arm, cool, joinGroup, unwatch, type Entry, type SymbolIndex } from './symbol-index';
import type { Firing } from './types';

/** What the tick fired, and how many rules it looked at. */
export interface TickResult {
  readonly fired: Firing[];
  readonly examined: number;
}

/** Runs a tick at `price`, `at` (never before the symbol's last tick) through `sym`. */
export function passTick(sym: SymbolIndex, price: number, at: number): TickResult {
  const fired: Firing[] = [];
  let examined = 0;
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

  examined += rearmCooled(sym, at);
  const prev = sym.last?.price;
  sym.last = { price, at };
  sym.ring.push({ at, price });
  sym.ring.trimBefore(at - sym.longestWindow);

  if (prev !== undefined) fireCrossings(sym, prev, price, fire);
  examined += primeCrossings(sym, price, fire);
  for (const entry of sym.above.take(0, sym.above.upperBound(price))) fire(entry);
  for (const entry of sym.below.take(sym.below.lowerBound(price), sym.below.size)) fire(entry);
  examined += firePercentMoves(sym, price, at, fire);
  return { fired, examined };
}

/** Re-arms the rules whose cooldown ended by `at`; returns how many. */
function rearmCooled(sym: SymbolIndex, at: number): number {
  let examined = 0;
  for (let key = sym.cooling.peekKey(); key !== undefined && key <= at; key = sym.cooling.peekKey()) {
    const { item } = sym.cooling.pop()!;
    if (item.dead || item.place !== 'cooling' || item.rearmAt !== key) continue;
    examined += 1;
    item.place = 'idle';
    arm(sym, item, at);
  }
  return examined;
}

/** Fires the primed `crossing` rules whose threshold lies between `prev` and `price` (or on it, when unmoved). */
function fireCrossings(sym: SymbolIndex, prev: number, price: number, fire: (entry: Entry) => void): void {
  const list = sym.crossing;
  const [start, end] =
    price > prev
      ? [list.upperBound(prev), list.upperBound(price)]
      : price < prev
        ? [list.lowerBound(price), list.lowerBound(prev)]
        : [list.lowerBound(price), list.upperBound(price)];
  for (const entry of list.take(start, end)) fire(entry);
}

/** Primes the `crossing` rules seeing their first tick (firing those exactly on it); returns how many it primed without firing. */
function primeCrossings(sym: SymbolIndex, price: number, fire: (entry: Entry) => void): number {
  let examined = 0;
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
  return examined;
}

/** Moves the windows on and fires the `percent-move` rules the move reaches; returns how many young rules it looked at without firing. */
function firePercentMoves(sym: SymbolIndex, price: number, at: number, fire: (entry: Entry) => void): number {
  let examined = 0;
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
  return examined;
}
