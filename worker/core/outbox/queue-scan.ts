/**
 * Where the outbox's pump starts reading its queue. Answered messages stay in the list until their
 * answers are recorded, and while a window of acks is written to IndexedDB hundreds of them lead
 * it: every ack would walk them all again before finding the next message to send. So a scan of
 * the same list starts past the busy entries (in flight, being recorded, failed) that led it the
 * last time. An entry can leave `busy` to be sent again only through a retry, a closed connection
 * or a failed write, which `reset`; any other change to the outbox is a new list, scanned from the
 * top.
 */
import type { OutboxEntry } from './store';

export interface QueueScan {
  /** The entries of `list` that are not busy, in order, starting past those that led it last time. */
  open(list: readonly OutboxEntry[]): Generator<OutboxEntry, void, undefined>;
  /** An entry may have stopped being busy without a new list: the next scan starts at the top. */
  reset(): void;
}

export function createQueueScan(busy: (entry: OutboxEntry) => boolean): QueueScan {
  /** The list last scanned, and how many of its first entries were all busy. */
  let last: { readonly list: readonly OutboxEntry[]; from: number } | null = null;
  return {
    *open(list) {
      if (last?.list !== list) last = { list, from: 0 };
      const scan = last;
      let leading = true;
      for (let index = scan.from; index < list.length; index++) {
        const entry = list[index]!;
        if (busy(entry)) {
          if (leading) scan.from = index + 1;
          continue;
        }
        leading = false;
        yield entry;
      }
    },
    reset() {
      last = null;
    },
  };
}
