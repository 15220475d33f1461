/**
 * Items kept sorted by a numeric key, the per-symbol index of thresholds (and of percents): the
 * rules a tick satisfies are one contiguous slice, found by binary search and taken out in one
 * splice, so a tick costs O(log n + fired) rather than a look at every rule.
 */

export interface SortedList<T> {
  insert(item: T): void;
  /** Removes this very item (by identity); false if it was not there. */
  remove(item: T): boolean;
  /** Index of the first item whose key is >= `key`. */
  lowerBound(key: number): number;
  /** Index of the first item whose key is > `key`. */
  upperBound(key: number): number;
  /** Removes and returns the items in [start, end). */
  take(start: number, end: number): T[];
  readonly size: number;
}

export function createSortedList<T>(keyOf: (item: T) => number): SortedList<T> {
  const items: T[] = [];

  function bound(key: number, strict: boolean): number {
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = keyOf(items[mid]!);
      if (k < key || (strict && k === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  return {
    insert(item) {
      // After the equal keys: items with one threshold keep their insertion order.
      items.splice(bound(keyOf(item), true), 0, item);
    },
    remove(item) {
      const key = keyOf(item);
      for (let i = bound(key, false); i < items.length && keyOf(items[i]!) === key; i++) {
        if (items[i] === item) {
          items.splice(i, 1);
          return true;
        }
      }
      return false;
    },
    lowerBound: (key) => bound(key, false),
    upperBound: (key) => bound(key, true),
    take(start, end) {
      return end > start ? items.splice(start, end - start) : [];
    },
    get size() {
      return items.length;
    },
  };
}
