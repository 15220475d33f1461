/**
 * The live price list: one row per symbol, sorted by symbol, with the last move against the
 * previous price marked up or down. Everything is rendered as text, never as markup, and each row
 * behind its own `Guard`. Rows are keyed by symbol and memoised on their tick, so a batch that
 * moves three symbols re-renders three rows; the list itself renders only when `prices` changes.
 */
import type { PriceTick } from '../lib/wire/prices';
import { directionOf, formatChange, formatPrice } from './format';
import { Guard } from './Guard';
import { memo } from './memo';

export { formatChange, formatPrice } from './format';

export interface PriceListProps {
  readonly prices: readonly PriceTick[];
}

function PriceRow({ tick }: { readonly tick: PriceTick }) {
  return (
    <li class={`price ${directionOf(tick)}`} data-symbol={tick.symbol}>
      <span class="symbol">{tick.symbol}</span>
      <span class="value">{formatPrice(tick.price)}</span>
      <span class="change">{formatChange(tick)}</span>
    </li>
  );
}

/** One row behind its `Guard`, rendered again only for another tick. */
const GuardedPriceRow = memo(function GuardedPriceRow({ tick }: { readonly tick: PriceTick }) {
  return (
    <Guard what="a price" value={tick} fallback={<li class="price price-error">This price could not be shown.</li>}>
      <PriceRow tick={tick} />
    </Guard>
  );
});

const bySymbol = (a: PriceTick, b: PriceTick): number => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0);

export const PriceList = memo(function PriceList({ prices }: PriceListProps) {
  const sorted = [...prices].sort(bySymbol);
  return (
    <section class="prices">
      <h2 id="prices-heading">Prices</h2>
      <ul aria-label="Prices" class="price-list">
        {sorted.map((tick) => (
          <GuardedPriceRow key={tick.symbol} tick={tick} />
        ))}
      </ul>
      {sorted.length === 0 && <p class="empty">Waiting for prices…</p>}
    </section>
  );
});
