/**
 * A binary min-heap of items by a numeric key: when the next cooldown ends, when the next alert
 * expires. Entries are never removed from the middle; the owner checks on `pop` whether an entry
 * still stands (lazy deletion), which keeps every operation O(log n).
 */

export interface MinHeap<T> {
  push(key: number, item: T): void;
  /** The smallest key, without removing it. */
  peekKey(): number | undefined;
  /** Removes and returns the item with the smallest key. */
  pop(): { readonly key: number; readonly item: T } | undefined;
  readonly size: number;
}

export function createMinHeap<T>(): MinHeap<T> {
  const keys: number[] = [];
  const items: T[] = [];

  function swap(i: number, j: number): void {
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    [items[i], items[j]] = [items[j]!, items[i]!];
  }

  return {
    push(key, item) {
      keys.push(key);
      items.push(item);
      for (let i = keys.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (keys[parent]! <= keys[i]!) break;
        swap(i, parent);
        i = parent;
      }
    },
    peekKey: () => keys[0],
    pop() {
      if (keys.length === 0) return undefined;
      const top = { key: keys[0]!, item: items[0]! };
      const lastKey = keys.pop()!;
      const lastItem = items.pop()!;
      if (keys.length > 0) {
        keys[0] = lastKey;
        items[0] = lastItem;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let min = i;
          if (l < keys.length && keys[l]! < keys[min]!) min = l;
          if (r < keys.length && keys[r]! < keys[min]!) min = r;
          if (min === i) break;
          swap(i, min);
          i = min;
        }
      }
      return top;
    },
    get size() {
      return keys.length;
    },
  };
}
