/**
 * Recent ticks of one symbol, for `percent-move` rules: a ring of (at, price) in time order, and
 * sliding-window extremes. The lowest and highest price within a window are all a percent rule
 * needs (see `percentMove`); a monotonic deque keeps each in O(1) amortised per tick
 * (https://en.wikipedia.org/wiki/Sliding_window_minimum).
 */

export interface Tick {
  readonly at: number;
  readonly price: number;
}

/** Ticks in time order; arrays with a moving head, compacted now and then, so trimming is cheap. */
export interface TickRing {
  push(tick: Tick): void;
  /** Drops ticks before `at`, always keeping the newest. */
  trimBefore(at: number): void;
  /** Ticks with `at` strictly after `after`, oldest first. */
  after(after: number): Tick[];
  /** Ticks with `at` at or after `from`, oldest first. */
  from(from: number): Tick[];
  readonly size: number;
}

export function createTickRing(): TickRing {
  let ticks: Tick[] = [];
  let head = 0;

  /** First index (>= head) whose tick is at or after `at` (strictly after when `strict`). */
  function bound(at: number, strict: boolean): number {
    let lo = head;
    let hi = ticks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = ticks[mid]!.at;
      if (t < at || (strict && t === at)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  return {
    push(tick) {
      ticks.push(tick);
    },
    trimBefore(at) {
      head = Math.min(bound(at, false), ticks.length - 1);
      if (head > 1024 && head * 2 > ticks.length) {
        ticks = ticks.slice(head);
        head = 0;
      }
    },
    after: (after) => ticks.slice(bound(after, true)),
    from: (from) => ticks.slice(bound(from, false)),
    get size() {
      return ticks.length - head;
    },
  };
}

/** The lowest and highest price among the ticks of the last `windowMs` (inclusive of its start). */
export interface WindowExtremes {
  push(tick: Tick): void;
  /** Forgets ticks older than `now - windowMs`. */
  evict(now: number): void;
  lowest(): number | undefined;
  highest(): number | undefined;
}

/** One monotonic deque: `better(a, b)` is true when `a` makes `b` useless (lower, for the minimum). */
function createDeque(better: (a: number, b: number) => boolean) {
  let items: Tick[] = [];
  let head = 0;
  return {
    push(tick: Tick) {
      while (items.length > head && better(tick.price, items[items.length - 1]!.price)) items.pop();
      items.push(tick);
    },
    evict(before: number) {
      while (head < items.length && items[head]!.at < before) head++;
      if (head > 1024 && head * 2 > items.length) {
        items = items.slice(head);
        head = 0;
      }
    },
    front: (): number | undefined => items[head]?.price,
  };
}

export function createWindowExtremes(windowMs: number): WindowExtremes {
  const min = createDeque((a, b) => a <= b);
  const max = createDeque((a, b) => a >= b);
  return {
    push(tick) {
      min.push(tick);
      max.push(tick);
    },
    evict(now) {
      min.evict(now - windowMs);
      max.evict(now - windowMs);
    },
    lowest: () => min.front(),
    highest: () => max.front(),
  };
}
