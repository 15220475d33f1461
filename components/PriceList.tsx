/**
 * The live price list: one row per symbol, sorted by symbol, with the last move against the
 * previous price marked up or down. Everything is rendered as text, never as markup.
 */
import type { PriceTick } from '../lib/wire/prices';

export interface PriceListProps {
  readonly prices: readonly PriceTick[];
}

type Direction = 'up' | 'down' | 'flat';

const directionOf = (tick: PriceTick): Direction => (tick.price > tick.prev ? 'up' : tick.price < tick.prev ? 'down' : 'flat');
const ARROWS: Readonly<Record<Direction, string>> = { up: '▲', down: '▼', flat: '•' };

/** Two decimals for ordinary prices, more for prices below 1 so they do not read as 0.00. */
export function formatPrice(price: number): string {
  return price.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: price < 1 ? 6 : 2 });
}

/** The move from `prev` to `price`, e.g. `▲ 1.25 (+0.84%)`. */
export function formatChange(tick: PriceTick): string {
  const diff = tick.price - tick.prev;
  const percent = tick.prev > 0 ? (diff / tick.prev) * 100 : 0;
  const sign = diff > 0 ? '+' : diff < 0 ? '−' : '';
  return `${ARROWS[directionOf(tick)]} ${formatPrice(Math.abs(diff))} (${sign}${Math.abs(percent).toFixed(2)}%)`;
}

export function PriceList({ prices }: PriceListProps) {
  const sorted = [...prices].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  return (
    <section class="prices">
      <h2 id="prices-heading">Prices</h2>
      <ul aria-label="Prices" class="price-list">
        {sorted.map((tick) => (
          <li key={tick.symbol} class={`price ${directionOf(tick)}`} data-symbol={tick.symbol}>
            <span class="symbol">{tick.symbol}</span>
            <span class="value">{formatPrice(tick.price)}</span>
            <span class="change">{formatChange(tick)}</span>
          </li>
        ))}
      </ul>
      {sorted.length === 0 && <p class="empty">Waiting for prices…</p>}
    </section>
  );
}
