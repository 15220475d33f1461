/**
 * What both servers of the abuse bench hold, so each attack asks both for the same bytes: 200
 * symbols' prices and 500 news items of about 2 KB each (the newest 500 is the most a Switchboard
 * client may ask a stream topic for).
 */
import type { PriceTick } from '../../lib/wire/prices';

export const SYMBOL_COUNT = 200;
export const NEWS_COUNT = 500;
const BODY = 'Markets moved on the news. '.repeat(75);

export function benchPrices(): PriceTick[] {
  return Array.from({ length: SYMBOL_COUNT }, (_, i) => ({ symbol: `S${i}`, price: 100 + i, prev: 100 + i, at: 1_763_900_000_000 + i }));
}

export function benchNews(): { title: string; body: string }[] {
  return Array.from({ length: NEWS_COUNT }, (_, i) => ({ title: `News ${i}`, body: BODY }));
}
