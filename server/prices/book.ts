/**
 * The latest price of every symbol, and the one door every price comes in through (admin API and
 * simulator alike): it validates, computes `prev`, stores, and hands the tick to its listener.
 * With a `relay` (several nodes on Redis) a valid price is sent through it instead, and the tick is
 * stored and handed on when the relay delivers it back (`accept`), as on every other node.
 */
import { SYMBOL_PATTERN } from '../../lib/wire/ids';
import { isValidPrice, MAX_PRICE, type PriceTick } from '../../lib/wire/prices';
import { describe } from '../common/untrusted';

export type PublishResult =
  | {
      readonly ok: true;
      /** The tick as this node sees it now; through a relay, `prev` is the one of `sent`. */
      readonly tick: PriceTick;
      /** Through a relay: settles once the tick was published to every node, or rejects (Redis down). */
      readonly sent?: Promise<PriceTick>;
    }
  | { readonly ok: false; readonly error: string };

export interface PriceBook {
  /** Validates and records a price; the listener sees the tick before this returns. */
  publish(symbol: unknown, price: unknown): PublishResult;
  get(symbol: string): PriceTick | undefined;
  /** A tick that came through the relay (from any node, this one included): stored and handed on. */
  accept(tick: PriceTick): void;
  /** Latest ticks known before this node started; a symbol this book already has keeps its tick. Returns those taken. */
  seed(ticks: Iterable<PriceTick>): PriceTick[];
  /** Every known symbol's latest tick, in first-seen order. */
  all(): IterableIterator<PriceTick>;
  readonly size: number;
}

export interface PriceBookDeps {
  readonly now: () => number;
  readonly onTick: (tick: PriceTick) => void;
  /** Sends valid prices to every node (see `server/redis/price-relay.ts`); without it, ticks apply here at once. */
  readonly relay?: (symbol: string, price: number, at: number) => Promise<PriceTick>;
}

export function createPriceBook(deps: PriceBookDeps): PriceBook {
  const latest = new Map<string, PriceTick>();
  function accept(tick: PriceTick): void {
    latest.set(tick.symbol, tick);
    deps.onTick(tick);
  }
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
      if (deps.relay) return { ok: true, tick, sent: deps.relay(symbol, price, tick.at) };
      accept(tick);
      return { ok: true, tick };
    },
    get: (symbol) => latest.get(symbol),
    accept,
    seed(ticks) {
      const taken: PriceTick[] = [];
      for (const tick of ticks) {
        if (latest.has(tick.symbol)) continue;
        latest.set(tick.symbol, tick);
        taken.push(tick);
      }
      return taken;
    },
    all: () => latest.values(),
    get size() {
      return latest.size;
    },
  };
}
