/**
 * The live price list: one row per symbol, sorted by symbol, with the last move against the
 * previous price marked up or down. Everything is rendered as text, never as markup, and each row
 * behind its own `Guard`.
 */
import type { PriceTick } from '../lib/wire/prices';
import { directionOf, formatChange, formatPrice } from './format';
import { Guard } from './Guard';

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

export function PriceList({ prices }: PriceListProps) {
  const sorted = [...prices].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  return (
    <section class="prices">
      <h2 id="prices-heading">Prices</h2>
      <ul aria-label="Prices" class="price-list">
        {sorted.map((tick) => (
          <Guard key={tick.symbol} what="a price" value={tick} fallback={<li class="price price-error">This price could not be shown.</li>}>
            <PriceRow tick={tick} />
          </Guard>
        ))}
      </ul>
      {sorted.length === 0 && <p class="empty">Waiting for prices…</p>}
    </section>
  );
}
