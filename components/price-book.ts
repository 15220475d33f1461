/**
 * The popup's price book: the latest valid tick per symbol, folded from hub update batches. Values
 * from the hub are `unknown` until `parsePriceTick` accepts them; anything else is dropped.
 */
import type { TopicUpdate } from '../lib/rpc/hub-api';
import { parsePriceTick, type PriceTick } from '../lib/wire/prices';
import { parseTopic } from '../lib/wire/topics';

export type PriceBook = ReadonlyMap<string, PriceTick>;

/** Returns a new book with the batch's price ticks applied, or `book` itself if none applied. */
export function applyPriceUpdates(book: PriceBook, batch: readonly TopicUpdate[]): PriceBook {
  let next: Map<string, PriceTick> | null = null;
  for (const update of batch) {
    if (update.kind !== 'state' || parseTopic(update.topic)?.kind !== 'prices') continue;
    const tick = parsePriceTick(update.value);
    if (!tick) continue;
    next ??= new Map(book);
    next.set(tick.symbol, tick);
  }
  return next ?? book;
}
