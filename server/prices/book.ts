/**
 * The latest price of every symbol, and the one door every price comes in through (admin API and
 * simulator alike): it validates, computes `prev`, stores, and hands the tick to its listener.
 */
import { SYMBOL_PATTERN } from '../../lib/wire/ids';
import { isValidPrice, MAX_PRICE, type PriceTick } from '../../lib/wire/prices';
import { describe } from '../common/untrusted';

export type PublishResult = { readonly ok: true; readonly tick: PriceTick } | { readonly ok: false; readonly error: string };

export interface PriceBook {
  /** Validates and records a price; the listener sees the tick before this returns. */
  publish(symbol: unknown, price: unknown): PublishResult;
  get(symbol: string): PriceTick | undefined;
  /** Every known symbol's latest tick, in first-seen order. */
  all(): IterableIterator<PriceTick>;
  readonly size: number;
}

export interface PriceBookDeps {
  readonly now: () => number;
  readonly onTick: (tick: PriceTick) => void;
}

export function createPriceBook(deps: PriceBookDeps): PriceBook {
  const latest = new Map<string, PriceTick>();
  return {
    publish(symbol, price) {
      if (typeof symbol !== 'string' || !SYMBOL_PATTERN.test(symbol)) {
        return {
          ok: false,
          error: `Invalid symbol ${describe(symbol, 40)}: use 1-12 of A-Z, 0-9, "." and "-", starting with a letter or digit`,
        };
      }
      if (!isValidPrice(price)) {
        return { ok: false, error: `Invalid price ${describe(price, 40)}: must be a finite number above 0 and at most ${MAX_PRICE}` };
      }
      const prev = latest.get(symbol)?.price ?? price;
      const tick: PriceTick = { symbol, price, prev, at: deps.now() };
      latest.set(symbol, tick);
      deps.onTick(tick);
      return { ok: true, tick };
    },
    get: (symbol) => latest.get(symbol),
    all: () => latest.values(),
    get size() {
      return latest.size;
    },
  };
}
